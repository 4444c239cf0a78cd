ALTER TABLE resources ALTER COLUMN body TYPE JSONB USING body::JSONB;
ALTER TABLE resource_history ALTER COLUMN body TYPE JSONB USING body::JSONB;
DO $$
BEGIN
    ALTER TABLE resources ALTER COLUMN body SET COMPRESSION lz4;
    ALTER TABLE resource_history ALTER COLUMN body SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available: resource bodies stay compressed with pglz';
END
$$;
