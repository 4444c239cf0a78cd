-- Back to indexes led by the three text columns; dropping the column drops the
-- indexes made of it.
ALTER TABLE search_token DROP COLUMN hash_identity;
ALTER TABLE search_string DROP COLUMN hash_identity;
ALTER TABLE search_date DROP COLUMN hash_identity;
ALTER TABLE search_quantity DROP COLUMN hash_identity;
ALTER TABLE search_reference DROP COLUMN hash_identity;
ALTER TABLE search_uri DROP COLUMN hash_identity;

CREATE INDEX search_token_code ON search_token (tenant, res_type, param, hash_code);
CREATE INDEX search_token_system_code ON search_token (tenant, res_type, param, hash_system_code);
CREATE INDEX search_token_system ON search_token (tenant, res_type, param, hash_system)
    WHERE system IS NOT NULL;
CREATE INDEX search_string_value ON search_string (tenant, res_type, param, value_normalized);
CREATE INDEX search_date_range ON search_date (tenant, res_type, param, low, high);
CREATE INDEX search_quantity_range ON search_quantity (tenant, res_type, param, low, high);
CREATE INDEX search_reference_target ON search_reference (tenant, res_type, param, target_id);
CREATE INDEX search_reference_identifier ON search_reference (tenant, res_type, param, identifier_value)
    WHERE identifier_value IS NOT NULL;
CREATE INDEX search_reference_url ON search_reference (tenant, res_type, param, target_url)
    WHERE target_url IS NOT NULL;
CREATE INDEX search_uri_value ON search_uri (tenant, res_type, param, uri);
