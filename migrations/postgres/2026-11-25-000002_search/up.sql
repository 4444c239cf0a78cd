-- Search over every indexed parameter (issue 3).
--
-- Folded strings and token codes compare byte by byte: starts-with becomes an index
-- range scan whatever the database's locale, and `_sort` orders them exactly as the
-- server computes paging cursors.
ALTER TABLE search_string ALTER COLUMN value_normalized TYPE TEXT COLLATE "C";
ALTER TABLE search_token ALTER COLUMN code TYPE TEXT COLLATE "C";

-- Reference lookups by logical identifier or absolute URL.
CREATE INDEX search_reference_identifier ON search_reference (res_type, param, identifier_value);
CREATE INDEX search_reference_url ON search_reference (res_type, param, target_url);
-- `:text` and `:missing` probe a parameter's rows of one type.
CREATE INDEX search_token_param ON search_token (res_type, param);
-- `_lastUpdated` filters and sorts.
CREATE INDEX resources_type_updated ON resources (res_type, last_updated);
