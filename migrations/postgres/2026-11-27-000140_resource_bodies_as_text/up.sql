-- Resource bodies are stored as the JSON text the server rendered, not as jsonb
-- (issues 4 and 5's write figures). No statement reads inside a body: the server
-- renders every body it writes and parses every body it reads, and searches go
-- through the index tables. jsonb cost PostgreSQL a parse of each body written
-- (`jsonb_recv`: 16% of its CPU in the claims batch, BENCHMARKS.md issue 5) and
-- a conversion back to text for each one read. Medplum keeps its resources' JSON
-- as TEXT too, HAPI FHIR as compressed text (fhir-servers.md). A read of a body
-- written after this migration returns the bytes the write rendered, in the
-- server's element order; bodies written before keep jsonb's text form (keys
-- reordered) until they are next written.
--
-- Upgrading rewrites both tables once, under an exclusive lock: on a large
-- database, run it in a maintenance window.
--
-- The type change rewrites each table and resets the column's compression method,
-- so both go in one ALTER TABLE: the rows are rewritten with lz4 (migration
-- 2026-11-26-000060), or with the default where PostgreSQL was built without it.
DO $$
BEGIN
    ALTER TABLE resources ALTER COLUMN body TYPE TEXT USING body::TEXT,
        ALTER COLUMN body SET COMPRESSION lz4;
    ALTER TABLE resource_history ALTER COLUMN body TYPE TEXT USING body::TEXT,
        ALTER COLUMN body SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available: resource bodies stay compressed with pglz';
    ALTER TABLE resources ALTER COLUMN body TYPE TEXT USING body::TEXT;
    ALTER TABLE resource_history ALTER COLUMN body TYPE TEXT USING body::TEXT;
END
$$;
