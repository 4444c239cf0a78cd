-- The server computes each index row's identity hash itself
-- (src/store/identity_hash.rs) instead of PostgreSQL's generated column: PostgreSQL
-- rebuilt the column's expression at the start of every INSERT into an index
-- table, about 4% of its CPU per HL7 admission (BENCHMARKS.md, issue 4). The
-- server's function is PostgreSQL's `hashtextextended` of the same text, so the
-- values already stored stay as they are: dropping the expression keeps them.
ALTER TABLE search_token ALTER COLUMN hash_identity DROP EXPRESSION;
ALTER TABLE search_string ALTER COLUMN hash_identity DROP EXPRESSION;
ALTER TABLE search_date ALTER COLUMN hash_identity DROP EXPRESSION;
ALTER TABLE search_quantity ALTER COLUMN hash_identity DROP EXPRESSION;
ALTER TABLE search_reference ALTER COLUMN hash_identity DROP EXPRESSION;
ALTER TABLE search_uri ALTER COLUMN hash_identity DROP EXPRESSION;
--
-- Upgrading: stop every node of the previous release before this migration
-- runs. Those nodes write index rows without the column, which now has no
-- default, and each of their writes would fail.
