-- Principals get several tokens, a disabled flag and the identities they sign in with; sign-in
-- links and console sessions are stored; principal changes become ledger events.
--
-- Every secret is stored as a hash only: bearer tokens as scrypt (looked up by their public
-- token id, api/auth.ts), sign-in links, sessions and OIDC logins as sha256 of a 256-bit random
-- value (nothing to brute-force, so a fast hash is enough).

-- Tokens: a principal has any number, each with an optional expiry; revoked ones stay for the record.
CREATE TABLE principal_tokens (
  token_id     text        PRIMARY KEY,
  principal_id text        NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
  token_hash   text        NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  created_by   text,
  expires_at   timestamptz,
  revoked_at   timestamptz,
  revoked_by   text
);
CREATE INDEX principal_tokens_principal_idx ON principal_tokens (principal_id, created_at);

-- The token each principal was created with becomes its first token.
INSERT INTO principal_tokens (token_id, principal_id, token_hash, created_at, created_by)
SELECT token_id, id, token_hash, created_at, created_by FROM principals WHERE token_id IS NOT NULL;

-- The old single-token columns are no longer written (kept, nullable, for a process of the
-- previous version still running during a rolling deploy).
ALTER TABLE principals
  ALTER COLUMN token_id DROP NOT NULL,
  ALTER COLUMN token_hash DROP NOT NULL,
  ADD COLUMN disabled      boolean     NOT NULL DEFAULT false,
  ADD COLUMN email         text,
  ADD COLUMN oidc_subject  text,
  ADD COLUMN slack_user_id text,
  ADD COLUMN updated_at    timestamptz NOT NULL DEFAULT now();
-- One principal per identity: a sign-in (or a Slack click) must map to exactly one.
CREATE UNIQUE INDEX principals_email_idx ON principals (lower(email)) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX principals_oidc_subject_idx ON principals (oidc_subject) WHERE oidc_subject IS NOT NULL;
CREATE UNIQUE INDEX principals_slack_user_idx ON principals (slack_user_id) WHERE slack_user_id IS NOT NULL;

-- One-use sign-in links (15 minutes): used_at is set by the one request that uses it.
CREATE TABLE sign_in_links (
  link_hash    text        PRIMARY KEY,
  principal_id text        NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
  created_by   text        NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  used_at      timestamptz
);
CREATE INDEX sign_in_links_expiry_idx ON sign_in_links (expires_at);

-- Console sessions: the cookie holds the secret, the row its hash and the CSRF token's hash.
CREATE TABLE console_sessions (
  session_hash text        PRIMARY KEY,
  csrf_hash    text        NOT NULL,
  principal_id text        NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
  -- How the human was identified: 'sign-in-link' or 'oidc' (with the issuer and subject).
  method       text        NOT NULL CHECK (method IN ('sign-in-link', 'oidc')),
  issuer       text,
  subject      text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  ended_at     timestamptz
);
CREATE INDEX console_sessions_principal_idx ON console_sessions (principal_id) WHERE ended_at IS NULL;
CREATE INDEX console_sessions_expiry_idx ON console_sessions (expires_at);

-- An OIDC login under way (authorization code + PKCE): the browser holds the id in a cookie,
-- the row the state, nonce and PKCE verifier; the callback uses it once.
CREATE TABLE oidc_logins (
  login_hash    text        PRIMARY KEY,
  state         text        NOT NULL,
  nonce         text        NOT NULL,
  code_verifier text        NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL
);

-- Slack approval messages (activities/slack.ts): where each action's message was posted, so
-- reminders, escalations and the outcome update it (chat.update needs the channel and ts).
CREATE TABLE slack_messages (
  action_id  text        NOT NULL,
  -- As the bundle names it (an id, or a name like #finance), and the id Slack answered with.
  channel    text        NOT NULL,
  channel_id text        NOT NULL,
  ts         text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (action_id, channel)
);

-- Principal changes are ledger events, on one chain per principal (action_id 'principal:<id>'),
-- covered by the same checkpoints and verification as actions' chains.
ALTER TABLE ledger_events DROP CONSTRAINT IF EXISTS ledger_events_type_check;
ALTER TABLE ledger_events ADD CONSTRAINT ledger_events_type_check CHECK (type IN (
  'proposed', 'policy_decided', 'approval_requested', 'reminded', 'escalated', 'decision_recorded', 'edited',
  'execution_started', 'executed', 'execution_failed', 'cancelled', 'expired',
  'principal_created', 'principal_updated', 'token_created', 'token_revoked', 'sign_in_link_created'));

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'countersign_app') THEN
    GRANT SELECT, INSERT, UPDATE, DELETE ON principal_tokens, sign_in_links, console_sessions, oidc_logins, slack_messages TO countersign_app;
  END IF;
END
$$;
