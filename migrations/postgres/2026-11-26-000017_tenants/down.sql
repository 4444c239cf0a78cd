DROP INDEX resources_tenant_id;
DROP INDEX resources_type_updated;
CREATE INDEX resources_type_updated ON resources (res_type, last_updated);

DROP INDEX resource_history_type_seq;
DROP INDEX resource_history_tenant_seq;
CREATE INDEX resource_history_type_seq ON resource_history (res_type, change_seq);

DROP INDEX search_token_code;
DROP INDEX search_token_system_code;
DROP INDEX search_token_system;
DROP INDEX search_token_resource;
CREATE INDEX search_token_code ON search_token (res_type, param, hash_code);
CREATE INDEX search_token_system_code ON search_token (res_type, param, hash_system_code);
CREATE INDEX search_token_system ON search_token (res_type, param, hash_system);
CREATE INDEX search_token_resource ON search_token (res_type, res_id);

DROP INDEX search_string_value;
DROP INDEX search_string_resource;
CREATE INDEX search_string_value ON search_string (res_type, param, value_normalized);
CREATE INDEX search_string_resource ON search_string (res_type, res_id);

DROP INDEX search_date_range;
DROP INDEX search_date_resource;
CREATE INDEX search_date_range ON search_date (res_type, param, low, high);
CREATE INDEX search_date_resource ON search_date (res_type, res_id);

DROP INDEX search_quantity_range;
DROP INDEX search_quantity_resource;
CREATE INDEX search_quantity_range ON search_quantity (res_type, param, low, high);
CREATE INDEX search_quantity_resource ON search_quantity (res_type, res_id);

DROP INDEX search_reference_target;
DROP INDEX search_reference_resource;
DROP INDEX search_reference_identifier;
DROP INDEX search_reference_url;
CREATE INDEX search_reference_target ON search_reference (res_type, param, target_id);
CREATE INDEX search_reference_resource ON search_reference (res_type, res_id);
CREATE INDEX search_reference_identifier ON search_reference (res_type, param, identifier_value);
CREATE INDEX search_reference_url ON search_reference (res_type, param, target_url);

DROP INDEX search_uri_value;
DROP INDEX search_uri_resource;
CREATE INDEX search_uri_value ON search_uri (res_type, param, uri);
CREATE INDEX search_uri_resource ON search_uri (res_type, res_id);

ALTER TABLE search_uri DROP COLUMN tenant;
ALTER TABLE search_reference DROP COLUMN tenant;
ALTER TABLE search_quantity DROP COLUMN tenant;
ALTER TABLE search_date DROP COLUMN tenant;
ALTER TABLE search_string DROP COLUMN tenant;
ALTER TABLE search_token DROP COLUMN tenant;
ALTER TABLE resource_history DROP COLUMN tenant;
ALTER TABLE resources DROP COLUMN tenant;
