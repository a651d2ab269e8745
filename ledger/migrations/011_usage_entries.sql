-- Usage figures without reading params (docs/controls.md, "Budgets and rate limits"): every
-- action that counts toward usage has rows here, kept by a trigger on `actions`, so
-- `usage.count`, `usage.sum` and `usage.agent.count` are one indexed aggregate each instead of
-- a read of every counted action's params JSON.
--
-- One row per counted action with path '' (the action itself: what the counts count; value =
-- how many numeric values its params hold, NULL when more than 64), plus one row per numeric
-- value in its params, keyed by its dotted path (`amount`, `order.total`; arrays are not
-- walked, as a usage path cannot index into one). An action with more than 64 numeric values
-- gets only its '' row with value NULL, and its sums are read from its params (rare, and
-- bounded: no action can make the table grow by more than 65 rows).
--
-- An action counts when it is not denied, cancelled or expired, and is past `evaluating` or
-- marked as counted (`usage_counted_at`, set under the agent's usage lock by the policy activity,
-- ledger/usage-store.ts). The trigger writes the rows in the same transaction as the change
-- that makes an action count (so the mark and its rows commit together, under the lock), and
-- rewrites them whenever the params change (an edit), the action leaves `awaiting_approval`, or
-- it stops counting.
CREATE TABLE usage_entries (
  action_id  text        NOT NULL,
  agent      text        NOT NULL,
  action     text        NOT NULL,
  created_at timestamptz NOT NULL,
  path       text        NOT NULL,
  value      double precision,
  PRIMARY KEY (action_id, path)
);
-- usage.count and usage.sum: one agent's rows of one action name and path in a window.
CREATE INDEX usage_entries_sum_idx ON usage_entries (agent, action, path, created_at) INCLUDE (value);
-- usage.agent.count: one agent's counted actions of every name in a window.
CREATE INDEX usage_entries_agent_idx ON usage_entries (agent, created_at) WHERE path = '';
-- Actions whose params hold too many numbers to keep here: their sums come from params.
CREATE INDEX usage_entries_overflow_idx ON usage_entries (agent, action, created_at) WHERE path = '' AND value IS NULL;

-- Whether an action with this status and mark counts toward usage.
CREATE FUNCTION usage_counts(status text, counted_at timestamptz) RETURNS boolean
  LANGUAGE sql IMMUTABLE AS $$
  SELECT status <> ALL (ARRAY['denied', 'cancelled', 'expired']) AND (status <> 'evaluating' OR counted_at IS NOT NULL)
$$;

-- The numeric values of a params object, by dotted path (objects only; keys a usage path can name).
CREATE FUNCTION usage_leaves(params jsonb) RETURNS TABLE (path text, value double precision)
  LANGUAGE sql IMMUTABLE AS $$
  WITH RECURSIVE walk (path, v) AS (
    SELECT e.key, e.value
      FROM jsonb_each(CASE WHEN jsonb_typeof(params) = 'object' THEN params ELSE '{}'::jsonb END) e
     WHERE e.key ~ '^[A-Za-z_][A-Za-z0-9_-]*$'
    UNION ALL
    SELECT w.path || '.' || e.key, e.value
      FROM walk w, jsonb_each(CASE WHEN jsonb_typeof(w.v) = 'object' THEN w.v ELSE '{}'::jsonb END) e
     WHERE e.key ~ '^[A-Za-z_][A-Za-z0-9_-]*$'
  )
  SELECT path, v::double precision FROM walk WHERE jsonb_typeof(v) = 'number'
$$;

-- Write the usage rows of one counted action.
CREATE FUNCTION usage_entries_write(a actions) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  leaves integer;
BEGIN
  SELECT count(*) INTO leaves FROM usage_leaves(a.params);
  INSERT INTO usage_entries (action_id, agent, action, created_at, path, value)
  VALUES (a.id, a.agent, a.action, a.created_at, '', CASE WHEN leaves > 64 THEN NULL ELSE leaves END);
  IF leaves <= 64 THEN
    INSERT INTO usage_entries (action_id, agent, action, created_at, path, value)
    SELECT a.id, a.agent, a.action, a.created_at, l.path, l.value FROM usage_leaves(a.params) l;
  END IF;
END
$$;

CREATE FUNCTION actions_usage_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    DELETE FROM usage_entries WHERE action_id = OLD.id;
  END IF;
  IF TG_OP <> 'DELETE' AND usage_counts(NEW.status, NEW.usage_counted_at) THEN
    PERFORM usage_entries_write(NEW);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER actions_usage_insert AFTER INSERT ON actions
  FOR EACH ROW WHEN (usage_counts(NEW.status, NEW.usage_counted_at))
  EXECUTE FUNCTION actions_usage_sync();
CREATE TRIGGER actions_usage_update AFTER UPDATE ON actions
  FOR EACH ROW WHEN (
    usage_counts(OLD.status, OLD.usage_counted_at) IS DISTINCT FROM usage_counts(NEW.status, NEW.usage_counted_at)
    OR OLD.params IS DISTINCT FROM NEW.params
    -- Leaving approval, an action can no longer be edited: any edit's value recorded ahead of its
    -- params under the usage lock (an edit refused after policy let it through) is replaced by
    -- the params as they stand.
    OR (OLD.status = 'awaiting_approval' AND NEW.status <> 'awaiting_approval'))
  EXECUTE FUNCTION actions_usage_sync();
CREATE TRIGGER actions_usage_delete AFTER DELETE ON actions
  FOR EACH ROW EXECUTE FUNCTION actions_usage_sync();

-- The actions that count now, over the longest window a usage call may name (90 days).
SELECT usage_entries_write(a) FROM actions a
 WHERE a.created_at > now() - interval '90 days' AND usage_counts(a.status, a.usage_counted_at);

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'countersign_app') THEN
    GRANT SELECT, INSERT, UPDATE, DELETE ON usage_entries TO countersign_app;
  END IF;
END
$$;
