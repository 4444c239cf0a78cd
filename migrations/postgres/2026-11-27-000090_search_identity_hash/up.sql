-- The search parameter indexes lead with one 8-byte hash of (tenant, res_type,
-- param) in place of those three text columns (issue 4's ingest figures; the key
-- HAPI FHIR's index tables lead with, fhir-servers.md).
--
-- Every entry of these indexes repeated the three texts, and every insertion and
-- lookup compared them one by one before reaching the value. An HL7 admission
-- inserts about 180 index entries, a claim 37. Measured by hand before this
-- migration was written (BENCHMARKS.md, issue 4, ninth session): 4-21% more
-- messages per second, 5-18% less CPU per message.
--
-- The hash is a stored generated column, so PostgreSQL computes it for every row
-- written, existing rows included, and nothing that inserts rows names it.
-- Searches compare it with the same expression over the same text
-- (src/store/search.rs, `param_is`) and keep comparing tenant, type and parameter
-- too: two identities that share a hash cost a filtered row, never a wrong match.
--
-- Upgrading rewrites the six index tables once (a stored column is added), under
-- an exclusive lock: on a large database, run it in a maintenance window.
--
-- The indexes by resource (tenant, res_type, res_id), used to replace a resource's
-- rows and by `_sort`, are left as they are.
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

DROP INDEX search_token_code;
CREATE INDEX search_token_code ON search_token (hash_identity, hash_code);
DROP INDEX search_token_system_code;
CREATE INDEX search_token_system_code ON search_token (hash_identity, hash_system_code);
DROP INDEX search_token_system;
CREATE INDEX search_token_system ON search_token (hash_identity, hash_system)
    WHERE system IS NOT NULL;
DROP INDEX search_string_value;
CREATE INDEX search_string_value ON search_string (hash_identity, value_normalized);
DROP INDEX search_date_range;
CREATE INDEX search_date_range ON search_date (hash_identity, low, high);
DROP INDEX search_quantity_range;
CREATE INDEX search_quantity_range ON search_quantity (hash_identity, low, high);
DROP INDEX search_reference_target;
CREATE INDEX search_reference_target ON search_reference (hash_identity, target_id);
DROP INDEX search_reference_identifier;
CREATE INDEX search_reference_identifier ON search_reference (hash_identity, identifier_value)
    WHERE identifier_value IS NOT NULL;
DROP INDEX search_reference_url;
CREATE INDEX search_reference_url ON search_reference (hash_identity, target_url)
    WHERE target_url IS NOT NULL;
DROP INDEX search_uri_value;
CREATE INDEX search_uri_value ON search_uri (hash_identity, uri);
