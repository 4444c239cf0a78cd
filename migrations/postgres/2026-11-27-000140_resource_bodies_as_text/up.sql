-- Resource bodies are stored as the JSON text the server rendered, not as jsonb
-- (issues 4 and 5's write figures). No statement reads inside a body: the server
-- renders every body it writes and parses every body it reads, and searches go
-- through the index tables. jsonb cost PostgreSQL a parse of each body written
-- (`jsonb_recv`: 16% of its CPU in the claims batch, BENCHMARKS.md issue 5) and
-- a conversion back to text for each one read. Medplum keeps its resources' JSON
-- as TEXT too, HAPI FHIR as compressed text (fhir-servers.md). A read now returns
-- the bytes the write rendered, in the server's element order.
--
-- Upgrading rewrites both tables once, under an exclusive lock: on a large
-- database, run it in a maintenance window.
ALTER TABLE resources ALTER COLUMN body TYPE TEXT USING body::TEXT;
ALTER TABLE resource_history ALTER COLUMN body TYPE TEXT USING body::TEXT;

-- The type change resets each column's compression method to the default
-- (migration 2026-11-26-000060 chose lz4).
DO $$
BEGIN
    ALTER TABLE resources ALTER COLUMN body SET COMPRESSION lz4;
    ALTER TABLE resource_history ALTER COLUMN body SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available: resource bodies stay compressed with pglz';
END
$$;
