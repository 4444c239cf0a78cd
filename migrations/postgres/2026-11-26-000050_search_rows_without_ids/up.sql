-- Search index rows lose their surrogate `id` (issue 4's ingest figures). Nothing
-- reads or refers to it: rows are found and replaced by (tenant, res_type, res_id),
-- and searches go through the lookup indexes. Each id cost a sequence call and a
-- primary-key index entry for every row written: an admission writes about 50 index
-- rows, so a fifth of its index insertions went to keys no statement ever used.
-- (SQLite keeps its column: there `INTEGER PRIMARY KEY` is the table's own rowid,
-- not a separate index.) Without a key these tables have no replica identity: to
-- publish them for logical replication, set `REPLICA IDENTITY FULL` on them first.
-- Physical (streaming) replication is unaffected.
ALTER TABLE search_token DROP COLUMN IF EXISTS id;
ALTER TABLE search_string DROP COLUMN IF EXISTS id;
ALTER TABLE search_date DROP COLUMN IF EXISTS id;
ALTER TABLE search_quantity DROP COLUMN IF EXISTS id;
ALTER TABLE search_reference DROP COLUMN IF EXISTS id;
ALTER TABLE search_uri DROP COLUMN IF EXISTS id;
