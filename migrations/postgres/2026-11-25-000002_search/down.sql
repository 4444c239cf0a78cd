DROP INDEX resources_type_updated;
DROP INDEX search_token_param;
DROP INDEX search_reference_url;
DROP INDEX search_reference_identifier;
ALTER TABLE search_token ALTER COLUMN code TYPE TEXT;
ALTER TABLE search_string ALTER COLUMN value_normalized TYPE TEXT;
