-- Actions stopped because Postgres refused one of their writes permanently (a data exception,
-- a violated constraint, a row too big: see ledger/write-failure.ts). The recording activity
-- writes a row here, outside the failed transaction, and sets the action's read model to
-- `failed`; `countersign ledger verify`, GET /v1/ledger/verify and the
-- countersign_action_faults gauge on /metrics list the rows nobody has acknowledged yet.
-- Not evidence: the ledger holds what happened, this table what could not be recorded.
CREATE TABLE action_faults (
  action_id       text        NOT NULL,
  -- The first event of the batch that could not be written, and every event type in it.
  seq             integer     NOT NULL,
  type            text        NOT NULL,
  events          text[]      NOT NULL,
  -- SQLSTATE (null when the refusal did not come from Postgres) and its message.
  code            text,
  message         text        NOT NULL,
  workflow_id     text,
  run_id          text,
  at              timestamptz NOT NULL DEFAULT now(),
  -- Set by `countersign ledger ack-fault` once an operator has dealt with it.
  acknowledged_at timestamptz,
  acknowledged_by text,
  -- A retried activity records the same fault again: the first row stands.
  PRIMARY KEY (action_id, seq)
);
CREATE INDEX action_faults_open_idx ON action_faults (at) WHERE acknowledged_at IS NULL;

-- The application role (004_app_role.sql) records and reads faults; acknowledging is an
-- operator's command, run as the database user.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'countersign_app') THEN
    GRANT SELECT, INSERT ON action_faults TO countersign_app;
  END IF;
END
$$;
