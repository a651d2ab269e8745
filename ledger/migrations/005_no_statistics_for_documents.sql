-- No planner statistics for columns that hold whole documents and that no query filters,
-- joins or sorts on. Autovacuum re-analyzes a table each time a tenth of its rows changed,
-- which on a busy `actions` table is every minute; sorting thousands of JSON documents and
-- random hashes for histograms nobody reads took 0.5-0.7 s of CPU per ANALYZE of `actions`
-- and 0.3-0.5 s for `ledger_events` with 10,000 actions, a burst that stalled decisions on a
-- small machine. Columns that queries do use (ids, status, agent, action, groups, voters,
-- deadline, times, seq, tx_id) keep the default statistics target.
ALTER TABLE actions
  ALTER COLUMN request_hash SET STATISTICS 0,
  ALTER COLUMN params SET STATISTICS 0,
  ALTER COLUMN resource SET STATISTICS 0,
  ALTER COLUMN justification SET STATISTICS 0,
  ALTER COLUMN context SET STATISTICS 0,
  ALTER COLUMN model SET STATISTICS 0,
  ALTER COLUMN policy SET STATISTICS 0,
  ALTER COLUMN approval SET STATISTICS 0,
  ALTER COLUMN result SET STATISTICS 0,
  ALTER COLUMN error SET STATISTICS 0,
  ALTER COLUMN outcome SET STATISTICS 0,
  ALTER COLUMN executor SET STATISTICS 0,
  ALTER COLUMN workflow_id SET STATISTICS 0,
  ALTER COLUMN run_id SET STATISTICS 0;

ALTER TABLE ledger_events
  ALTER COLUMN data SET STATISTICS 0,
  ALTER COLUMN prev_hash SET STATISTICS 0,
  ALTER COLUMN hash SET STATISTICS 0;
