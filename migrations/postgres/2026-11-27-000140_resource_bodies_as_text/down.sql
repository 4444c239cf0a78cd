-- Back to jsonb. jsonb refuses some JSON that text holds and the server accepts
-- (a string with a `\u0000` escape, a number beyond jsonb's range): with such a
-- body stored, this fails and changes nothing (it is one transaction); rewrite
-- or delete those resources first.
DO $$
BEGIN
    ALTER TABLE resources ALTER COLUMN body TYPE JSONB USING body::JSONB,
        ALTER COLUMN body SET COMPRESSION lz4;
    ALTER TABLE resource_history ALTER COLUMN body TYPE JSONB USING body::JSONB,
        ALTER COLUMN body SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available: resource bodies stay compressed with pglz';
    ALTER TABLE resources ALTER COLUMN body TYPE JSONB USING body::JSONB;
    ALTER TABLE resource_history ALTER COLUMN body TYPE JSONB USING body::JSONB;
END
$$;
