-- The text columns that index keys are made of compare bytewise (COLLATE "C").
-- Under the database's default collation (C.UTF-8 or en_US.UTF-8 on most hosts)
-- PostgreSQL compares every key column through the C library's strcoll, after
-- copying both values; with "C" it is a memcmp. In the write paths of issues 4 and
-- 5 (an HL7 admission inserts about 180 index entries, a claim 48, most led by
-- three text columns) those comparisons were 4% and 9% of PostgreSQL's CPU
-- (BENCHMARKS.md).
--
-- Folded search strings and token codes already compare this way (migration
-- 2026-11-25-000002); this extends it to the columns every key leads with.
--
-- What it changes: ORDER BY on these columns is by byte, which for UTF-8 is by
-- code point (as C.UTF-8 already orders); the values are ids, identifiers, URLs,
-- type and parameter names, states. Equality is unchanged. No
-- statement applies LOWER or UPPER to them (those follow the collation).
--
-- A comparison between one of these columns and a column or value of the default
-- collation is made under "C" (a column's declared collation wins over the
-- default one), so queries that join them to other tables work as before.
--
-- Only the collation changes, so the tables are not rewritten; their indexes are
-- rebuilt.
ALTER TABLE resources
    ALTER COLUMN tenant TYPE TEXT COLLATE "C",
    ALTER COLUMN res_type TYPE TEXT COLLATE "C",
    ALTER COLUMN res_id TYPE TEXT COLLATE "C";
ALTER TABLE resource_history
    ALTER COLUMN tenant TYPE TEXT COLLATE "C",
    ALTER COLUMN res_type TYPE TEXT COLLATE "C",
    ALTER COLUMN res_id TYPE TEXT COLLATE "C";
ALTER TABLE search_token
    ALTER COLUMN tenant TYPE TEXT COLLATE "C",
    ALTER COLUMN res_type TYPE TEXT COLLATE "C",
    ALTER COLUMN res_id TYPE TEXT COLLATE "C",
    ALTER COLUMN param TYPE TEXT COLLATE "C";
ALTER TABLE search_string
    ALTER COLUMN tenant TYPE TEXT COLLATE "C",
    ALTER COLUMN res_type TYPE TEXT COLLATE "C",
    ALTER COLUMN res_id TYPE TEXT COLLATE "C",
    ALTER COLUMN param TYPE TEXT COLLATE "C";
ALTER TABLE search_date
    ALTER COLUMN tenant TYPE TEXT COLLATE "C",
    ALTER COLUMN res_type TYPE TEXT COLLATE "C",
    ALTER COLUMN res_id TYPE TEXT COLLATE "C",
    ALTER COLUMN param TYPE TEXT COLLATE "C";
ALTER TABLE search_quantity
    ALTER COLUMN tenant TYPE TEXT COLLATE "C",
    ALTER COLUMN res_type TYPE TEXT COLLATE "C",
    ALTER COLUMN res_id TYPE TEXT COLLATE "C",
    ALTER COLUMN param TYPE TEXT COLLATE "C";
ALTER TABLE search_reference
    ALTER COLUMN tenant TYPE TEXT COLLATE "C",
    ALTER COLUMN res_type TYPE TEXT COLLATE "C",
    ALTER COLUMN res_id TYPE TEXT COLLATE "C",
    ALTER COLUMN param TYPE TEXT COLLATE "C",
    ALTER COLUMN target_type TYPE TEXT COLLATE "C",
    ALTER COLUMN target_id TYPE TEXT COLLATE "C",
    ALTER COLUMN target_url TYPE TEXT COLLATE "C",
    ALTER COLUMN identifier_value TYPE TEXT COLLATE "C";
ALTER TABLE search_uri
    ALTER COLUMN tenant TYPE TEXT COLLATE "C",
    ALTER COLUMN res_type TYPE TEXT COLLATE "C",
    ALTER COLUMN res_id TYPE TEXT COLLATE "C",
    ALTER COLUMN param TYPE TEXT COLLATE "C",
    ALTER COLUMN uri TYPE TEXT COLLATE "C";
ALTER TABLE hl7_messages
    ALTER COLUMN sending_application TYPE TEXT COLLATE "C",
    ALTER COLUMN sending_facility TYPE TEXT COLLATE "C",
    ALTER COLUMN control_id TYPE TEXT COLLATE "C",
    ALTER COLUMN message_type TYPE TEXT COLLATE "C",
    ALTER COLUMN status TYPE TEXT COLLATE "C";
ALTER TABLE billing_claims
    ALTER COLUMN claim_id TYPE TEXT COLLATE "C",
    ALTER COLUMN state TYPE TEXT COLLATE "C",
    ALTER COLUMN payer TYPE TEXT COLLATE "C",
    ALTER COLUMN assignee TYPE TEXT COLLATE "C";
ALTER TABLE billing_state_history
    ALTER COLUMN claim_id TYPE TEXT COLLATE "C",
    ALTER COLUMN to_state TYPE TEXT COLLATE "C";
