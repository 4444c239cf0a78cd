-- Resource bodies of more than about 2 KB are compressed as they are stored
-- (TOAST). PostgreSQL's default method, pglz, was a tenth of its CPU in the claims
-- batch (a Claim's body is compressed twice: current row and history row;
-- BENCHMARKS.md, issue 5). lz4 compresses several times faster, for slightly larger
-- output. Values already stored keep the method they were written with. A
-- PostgreSQL built without lz4 keeps pglz.
DO $$
BEGIN
    ALTER TABLE resources ALTER COLUMN body SET COMPRESSION lz4;
    ALTER TABLE resource_history ALTER COLUMN body SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available: resource bodies stay compressed with pglz';
END
$$;
