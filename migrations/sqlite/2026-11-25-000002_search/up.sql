-- SQLite dialect of the PostgreSQL migration of the same name. SQLite compares TEXT
-- byte by byte (BINARY collation) already, so only the indexes are needed.
CREATE INDEX search_reference_identifier ON search_reference (res_type, param, identifier_value);
CREATE INDEX search_reference_url ON search_reference (res_type, param, target_url);
CREATE INDEX search_token_param ON search_token (res_type, param);
CREATE INDEX resources_type_updated ON resources (res_type, last_updated);
