-- Operator controls (docs/controls.md): pauses, and the usage figures budgets in policy read.
--
-- Pauses. One row per pause; lifting it sets lifted_at/lifted_by (a pause is never deleted, so
-- GET /v1/controls/pauses?all=true and the ledger tell the same story). A scope names an agent,
-- an action name, both (AND), or nothing (`"all"`: everything). Every process keeps the active
-- pauses in memory and re-reads them on a notification (ledger/pause-store.ts).
CREATE TABLE pauses (
  id          text        PRIMARY KEY,
  agent       text,
  action      text,
  reason      text        NOT NULL,
  created_by  text        NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  lifted_by   text,
  lifted_at   timestamptz,
  lift_reason text,
  CHECK ((lifted_at IS NULL) = (lifted_by IS NULL))
);
CREATE INDEX pauses_active_idx ON pauses (created_at) WHERE lifted_at IS NULL;

-- Usage (budgets and rate limits in policy): the policy activity counts an agent's earlier
-- actions under a per-agent advisory lock and marks the action it is deciding as counted in
-- the same transaction (ledger/usage-store.ts). A row still `evaluating` counts for the
-- actions decided after it only once it is marked, so two proposals decided one after the
-- other under the lock always see each other, and never both fit under one budget.
ALTER TABLE actions ADD COLUMN usage_counted_at timestamptz;
-- The usage queries: one agent's actions of one name (or all names) in a time window.
CREATE INDEX actions_usage_idx ON actions (agent, action, created_at);

-- New ledger event types: a pause and its lifting (each pause is a chain of its own, keyed by
-- the pause id), and an action held by a pause before it executes and released after.
ALTER TABLE ledger_events DROP CONSTRAINT IF EXISTS ledger_events_type_check;
ALTER TABLE ledger_events ADD CONSTRAINT ledger_events_type_check CHECK (type IN (
  'proposed', 'policy_decided', 'approval_requested', 'reminded', 'escalated', 'decision_recorded', 'edited',
  'execution_started', 'executed', 'execution_failed', 'cancelled', 'expired', 'execution_held', 'execution_resumed',
  'principal_created', 'principal_updated', 'token_created', 'token_revoked', 'sign_in_link_created',
  'paused', 'resumed'));

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'countersign_app') THEN
    GRANT SELECT, INSERT, UPDATE ON pauses TO countersign_app;
  END IF;
END
$$;
