-- Principals: agents and humans. Tokens are stored as scrypt hashes, looked up by a public token id.
CREATE TABLE principals (
  id          text PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('agent', 'human')),
  roles       text[] NOT NULL,
  groups      text[] NOT NULL DEFAULT '{}',
  token_id    text NOT NULL UNIQUE,
  token_hash  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  created_by  text
);

-- Policy bundles, content-addressed by version (sha256 of the canonical form).
CREATE TABLE policy_versions (
  version     text PRIMARY KEY,
  source      text NOT NULL,
  source_name text,
  author      text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Activation log: the active bundle is the one activated last.
CREATE TABLE policy_activations (
  seq          bigserial PRIMARY KEY,
  version      text NOT NULL REFERENCES policy_versions(version),
  activated_by text NOT NULL,
  activated_at timestamptz NOT NULL DEFAULT now()
);

-- Read model of each action, written by the workflow's recording activity in the same
-- transaction as the ledger event, so the view and the evidence never disagree.
CREATE TABLE actions (
  id               text PRIMARY KEY,
  agent            text NOT NULL,
  idempotency_key  text,
  request_hash     text NOT NULL,
  action           text NOT NULL,
  status           text NOT NULL,
  params           jsonb NOT NULL,
  resource         jsonb,
  on_behalf_of     text,
  parent_action_id text,
  justification    text,
  context          jsonb,
  model            jsonb,
  policy           jsonb,
  approval         jsonb,
  result           jsonb,
  error            text,
  outcome          jsonb,
  executor         jsonb,
  last_seq         integer NOT NULL DEFAULT 0,
  workflow_id      text NOT NULL,
  run_id           text,
  -- Who may decide now (inbox): the eligible groups, who already voted, and the deadline.
  eligible_groups  text[] NOT NULL DEFAULT '{}',
  voters           text[] NOT NULL DEFAULT '{}',
  deadline         timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (agent, idempotency_key)
);
CREATE INDEX actions_status_idx ON actions (status, created_at DESC, id DESC);
CREATE INDEX actions_agent_idx ON actions (agent, created_at DESC, id DESC);
CREATE INDEX actions_list_idx ON actions (created_at DESC, id DESC);
CREATE INDEX actions_pending_groups_idx ON actions USING gin (eligible_groups) WHERE status = 'awaiting_approval';
CREATE INDEX actions_parent_idx ON actions (parent_action_id) WHERE parent_action_id IS NOT NULL;
