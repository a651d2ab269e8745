-- The application role. The API and the worker connect as the user that ran these migrations
-- and then switch to `countersign_app` (the `role` setting at connection start, see
-- ledger/migrate.ts openApplicationPool), so everything they do is bounded by these grants:
-- read and write the operational tables, but only SELECT and INSERT on the ledger. UPDATE,
-- DELETE and TRUNCATE of evidence are then refused by privileges as well as by the triggers,
-- which a table owner could disable.
--
-- Creating a role needs CREATEROLE (or superuser). Without it this migration only says so;
-- give the application a DATABASE_URL whose user has the grants below instead.
DO $$
DECLARE
  ledger_tables text[] := ARRAY['ledger_events', 'ledger_checkpoints', 'policy_versions', 'policy_activations'];
  t text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'countersign_app') THEN
    BEGIN
      CREATE ROLE countersign_app NOLOGIN;
    EXCEPTION
      -- Roles are cluster-wide: another database's migration may have created it just now.
      WHEN duplicate_object OR unique_violation THEN NULL;
      WHEN insufficient_privilege THEN
        RAISE NOTICE 'countersign: % may not create roles; the application will run as % itself', current_user, current_user;
        RETURN;
    END;
  END IF;
  IF NOT pg_has_role(current_user, 'countersign_app', 'MEMBER') THEN
    BEGIN
      EXECUTE format('GRANT countersign_app TO %I', current_user);
    EXCEPTION WHEN OTHERS THEN
      -- A concurrent grant from another database ("tuple concurrently updated") did it already.
      IF NOT pg_has_role(current_user, 'countersign_app', 'MEMBER') THEN RAISE; END IF;
    END;
  END IF;

  EXECUTE format('GRANT USAGE ON SCHEMA %I TO countersign_app', current_schema());
  GRANT SELECT, INSERT, UPDATE, DELETE ON principals, actions TO countersign_app;
  FOREACH t IN ARRAY ledger_tables LOOP
    EXECUTE format('GRANT SELECT, INSERT ON %I TO countersign_app', t);
  END LOOP;
  -- A key may be retired (retired_at set once, see the trigger); nothing else changes.
  GRANT SELECT, INSERT ON signing_keys TO countersign_app;
  GRANT UPDATE (retired_at) ON signing_keys TO countersign_app;
  EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO countersign_app', current_schema());
END
$$;
