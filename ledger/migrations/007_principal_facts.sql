-- Facts about principals that policy may trust, because the principal does not set them itself
-- (docs/security-model.md, "Claims and facts"):
--  * attributes: a JSON object set by admins; policy reads it as facts.agent.attributes and
--    facts.onBehalfOf.attributes (api/routes/principals.ts bounds its size).
--  * delegates: the agent ids a human lets propose on their behalf (onBehalfOf). Only humans
--    delegate.
-- The application role's grants on principals (004_app_role.sql: SELECT, INSERT, UPDATE, DELETE
-- on the table) cover the new columns; nothing to grant here.
ALTER TABLE principals
  ADD COLUMN attributes jsonb  NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(attributes) = 'object'),
  ADD COLUMN delegates  text[] NOT NULL DEFAULT '{}',
  ADD CONSTRAINT principals_only_humans_delegate CHECK (kind = 'human' OR cardinality(delegates) = 0);
