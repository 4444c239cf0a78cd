-- Back to the generated column. PostgreSQL 15 cannot give a column an expression
-- again, so the column is dropped (and its indexes with it) and added back as
-- migration 2026-11-27-000090 first added it, indexes included.
ALTER TABLE search_token DROP COLUMN hash_identity;
ALTER TABLE search_string DROP COLUMN hash_identity;
ALTER TABLE search_date DROP COLUMN hash_identity;
ALTER TABLE search_quantity DROP COLUMN hash_identity;
ALTER TABLE search_reference DROP COLUMN hash_identity;
ALTER TABLE search_uri DROP COLUMN hash_identity;

ALTER TABLE search_token ADD COLUMN hash_identity BIGINT NOT NULL
    GENERATED ALWAYS AS (hashtextextended(tenant || '|' || res_type || '|' || param, 0)) STORED;
ALTER TABLE search_string ADD COLUMN hash_identity BIGINT NOT NULL
    GENERATED ALWAYS AS (hashtextextended(tenant || '|' || res_type || '|' || param, 0)) STORED;
ALTER TABLE search_date ADD COLUMN hash_identity BIGINT NOT NULL
    GENERATED ALWAYS AS (hashtextextended(tenant || '|' || res_type || '|' || param, 0)) STORED;
ALTER TABLE search_quantity ADD COLUMN hash_identity BIGINT NOT NULL
    GENERATED ALWAYS AS (hashtextextended(tenant || '|' || res_type || '|' || param, 0)) STORED;
ALTER TABLE search_reference ADD COLUMN hash_identity BIGINT NOT NULL
    GENERATED ALWAYS AS (hashtextextended(tenant || '|' || res_type || '|' || param, 0)) STORED;
ALTER TABLE search_uri ADD COLUMN hash_identity BIGINT NOT NULL
    GENERATED ALWAYS AS (hashtextextended(tenant || '|' || res_type || '|' || param, 0)) STORED;

CREATE INDEX search_token_code ON search_token (hash_identity, hash_code);
CREATE INDEX search_token_system_code ON search_token (hash_identity, hash_system_code);
CREATE INDEX search_token_system ON search_token (hash_identity, hash_system)
    WHERE system IS NOT NULL;
CREATE INDEX search_string_value ON search_string (hash_identity, value_normalized);
CREATE INDEX search_date_range ON search_date (hash_identity, low, high);
CREATE INDEX search_quantity_range ON search_quantity (hash_identity, low, high);
CREATE INDEX search_reference_target ON search_reference (hash_identity, target_id);
CREATE INDEX search_reference_identifier ON search_reference (hash_identity, identifier_value)
    WHERE identifier_value IS NOT NULL;
CREATE INDEX search_reference_url ON search_reference (hash_identity, target_url)
    WHERE target_url IS NOT NULL;
CREATE INDEX search_uri_value ON search_uri (hash_identity, uri);
