-- The application role may not choose where an event falls in the ledger's order
-- (docs/security-model.md, "Ledger anchoring"). `tx_id` decides which checkpoint covers an
-- event, and `global_seq` and `recorded_at` order and date it: with INSERT on every column, code
-- running as countersign_app could write an event with a transaction id below a horizon already
-- checkpointed, where no checkpoint would ever look for it. It may now name only the hashed
-- columns; Postgres fills the other three from their defaults (the current transaction, the
-- sequence, now()), and an INSERT naming them is refused ("permission denied for column").
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'countersign_app') THEN
    REVOKE INSERT ON ledger_events FROM countersign_app;
    GRANT INSERT (action_id, seq, type, actor_id, actor_kind, at, data, prev_hash, hash) ON ledger_events TO countersign_app;
  END IF;
END
$$;
