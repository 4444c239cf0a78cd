-- Tenants (issue 7): every resource, each of its versions and each of its index rows
-- belongs to one organisation. What was stored before lands in the default tenant.
--
-- Resource ids stay unique across tenants (one pool of ids, as in HAPI's
-- partitioning), so the keys that guarantee it — resources (res_type, res_id),
-- resource_history (res_type, res_id, version_id) — are kept as they are. Every
-- statement also names the tenant, and the indexes lookups use lead with it: a
-- search, history or include reads only its own tenant's index entries.
ALTER TABLE resources ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
ALTER TABLE resource_history ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
ALTER TABLE search_token ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
ALTER TABLE search_string ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
ALTER TABLE search_date ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
ALTER TABLE search_quantity ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
ALTER TABLE search_reference ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
ALTER TABLE search_uri ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';

-- A type's resources in id order (unfiltered searches, the default sort), and by time.
CREATE INDEX resources_tenant_id ON resources (tenant, res_type, res_id);
DROP INDEX resources_type_updated;
CREATE INDEX resources_type_updated ON resources (tenant, res_type, last_updated);

-- Type and system history, newest first.
DROP INDEX resource_history_type_seq;
CREATE INDEX resource_history_type_seq ON resource_history (tenant, res_type, change_seq);
CREATE INDEX resource_history_tenant_seq ON resource_history (tenant, change_seq);

DROP INDEX search_token_code;
DROP INDEX search_token_system_code;
DROP INDEX search_token_system;
DROP INDEX search_token_resource;
CREATE INDEX search_token_code ON search_token (tenant, res_type, param, hash_code);
CREATE INDEX search_token_system_code ON search_token (tenant, res_type, param, hash_system_code);
CREATE INDEX search_token_system ON search_token (tenant, res_type, param, hash_system);
CREATE INDEX search_token_resource ON search_token (tenant, res_type, res_id);

DROP INDEX search_string_value;
DROP INDEX search_string_resource;
CREATE INDEX search_string_value ON search_string (tenant, res_type, param, value_normalized);
CREATE INDEX search_string_resource ON search_string (tenant, res_type, res_id);

DROP INDEX search_date_range;
DROP INDEX search_date_resource;
CREATE INDEX search_date_range ON search_date (tenant, res_type, param, low, high);
CREATE INDEX search_date_resource ON search_date (tenant, res_type, res_id);

DROP INDEX search_quantity_range;
DROP INDEX search_quantity_resource;
CREATE INDEX search_quantity_range ON search_quantity (tenant, res_type, param, low, high);
CREATE INDEX search_quantity_resource ON search_quantity (tenant, res_type, res_id);

DROP INDEX search_reference_target;
DROP INDEX search_reference_resource;
DROP INDEX search_reference_identifier;
DROP INDEX search_reference_url;
CREATE INDEX search_reference_target ON search_reference (tenant, res_type, param, target_id);
CREATE INDEX search_reference_resource ON search_reference (tenant, res_type, res_id);
CREATE INDEX search_reference_identifier ON search_reference (tenant, res_type, param, identifier_value);
CREATE INDEX search_reference_url ON search_reference (tenant, res_type, param, target_url);

DROP INDEX search_uri_value;
DROP INDEX search_uri_resource;
CREATE INDEX search_uri_value ON search_uri (tenant, res_type, param, uri);
CREATE INDEX search_uri_resource ON search_uri (tenant, res_type, res_id);
