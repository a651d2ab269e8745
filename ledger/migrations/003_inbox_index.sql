-- The approvals inbox reads pending actions oldest deadline first (keyset on deadline, id):
-- with thousands pending this index turns a sort of all of them into an index range scan.
CREATE INDEX actions_inbox_order_idx ON actions (deadline, id) WHERE status = 'awaiting_approval';
