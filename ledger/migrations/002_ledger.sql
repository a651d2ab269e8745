-- Evidence ledger: one hash chain per action, signed checkpoints over the chain heads,
-- and every signing key ever used. All three tables are append-only (see triggers below).
--
-- Hash of an event (ledger/chain.ts): sha256hex(prev_hash || canonicalJson({ actionId, seq,
-- type, at, actor: { id, kind }, data })). The row keeps every hashed field in a form that
-- gives back exactly what was hashed: `data` is `json` (stored as the exact canonical text,
-- unlike jsonb) and `at` has millisecond precision.
--
-- Append-only is enforced by triggers against mistakes and compromised application code;
-- a table owner or superuser can still disable them, which the chain, the signed
-- checkpoints and `countersign ledger verify` are there to detect. In production run the
-- application as a role that does not own these tables and has only SELECT/INSERT on them.

CREATE TABLE ledger_events (
  action_id   text        NOT NULL,
  seq         integer     NOT NULL CHECK (seq >= 1),
  type        text        NOT NULL CHECK (type IN ('proposed', 'policy_decided', 'approval_requested', 'reminded',
                                                   'escalated', 'decision_recorded', 'edited', 'execution_started',
                                                   'executed', 'execution_failed', 'cancelled', 'expired')),
  actor_id    text        NOT NULL,
  actor_kind  text        NOT NULL CHECK (actor_kind IN ('agent', 'human', 'system')),
  at          timestamptz NOT NULL,
  data        json        NOT NULL,
  prev_hash   text        NOT NULL,
  hash        text        NOT NULL,
  -- Insertion order across all chains (ordering only: sequence values of aborted
  -- transactions leave holes, and concurrent transactions commit out of order).
  global_seq  bigserial   NOT NULL,
  -- Inserting transaction: a checkpoint covers exactly the transactions that finished
  -- between the previous checkpoint's horizon and its own (see writeCheckpoint).
  tx_id       xid8        NOT NULL DEFAULT pg_current_xact_id(),
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (action_id, seq)
);
CREATE INDEX ledger_events_tx_idx ON ledger_events (tx_id);
CREATE INDEX ledger_events_at_idx ON ledger_events (at);

-- Every public key that ever signed (rotation keeps the old ones so old signatures verify).
CREATE TABLE signing_keys (
  key_id      text        PRIMARY KEY,   -- first 16 hex of sha256(raw public key)
  alg         text        NOT NULL DEFAULT 'Ed25519',
  public_key  text        NOT NULL,      -- SPKI PEM
  created_at  timestamptz NOT NULL DEFAULT now(),
  retired_at  timestamptz
);

-- Signed checkpoints, chained like CloudTrail digest files: each one commits (Merkle root)
-- to the heads of the chains written since the previous one and links to its hash.
CREATE TABLE ledger_checkpoints (
  seq                bigint      PRIMARY KEY CHECK (seq >= 1),
  at                 timestamptz NOT NULL,
  covers             jsonb       NOT NULL,   -- [{ actionId, seq, hash }] sorted by actionId (UTF-16 order)
  head_count         integer     NOT NULL,
  heads_root         text        NOT NULL,   -- RFC 6962 Merkle root of covers (ledger/merkle.ts)
  through_global_seq bigint      NOT NULL,   -- highest ledger_events.global_seq covered
  horizon            xid8        NOT NULL,   -- every transaction below it had finished
  prev_hash          text        NOT NULL,
  hash               text        NOT NULL UNIQUE,
  key_id             text        NOT NULL REFERENCES signing_keys (key_id),
  signature          text        NOT NULL    -- base64 Ed25519 over the UTF-8 bytes of hash
);
CREATE INDEX ledger_checkpoints_covers_idx ON ledger_checkpoints USING gin (covers jsonb_path_ops);

CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'countersign ledger: % on % refused, the table is append-only', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

-- Statement-level, so even an UPDATE/DELETE that matches no row is refused.
CREATE TRIGGER ledger_events_append_only
  BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_events
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_checkpoints_append_only
  BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- signing_keys: the one change allowed is setting retired_at once.
CREATE FUNCTION signing_keys_retire_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.retired_at IS NULL AND NEW.retired_at IS NOT NULL
     AND NEW.key_id = OLD.key_id AND NEW.alg = OLD.alg AND NEW.public_key = OLD.public_key
     AND NEW.created_at = OLD.created_at THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'countersign ledger: signing_keys rows only accept retired_at being set once'
    USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
CREATE TRIGGER signing_keys_retire_only
  BEFORE UPDATE ON signing_keys
  FOR EACH ROW EXECUTE FUNCTION signing_keys_retire_only();
CREATE TRIGGER signing_keys_append_only
  BEFORE DELETE OR TRUNCATE ON signing_keys
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
