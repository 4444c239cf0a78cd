-- Index entries only for rows a lookup can find. Every statement that uses one of
-- these indexes compares the column with `=` or a range, which no NULL satisfies,
-- so PostgreSQL uses the partial index wherever it used the full one; the rows
-- whose column is NULL no longer cost an index insertion when written.
--
-- In the write paths of issues 4 and 5 most such rows are NULL: a reference is
-- relative (no URL, no identifier), a `code` token has no system, a claim taken in
-- is not yet submitted, paid or assigned. A claim took 48 index insertions, now
-- 37; an HL7 admission (BENCHMARKS.md) at least 12 fewer.
DROP INDEX search_reference_identifier;
CREATE INDEX search_reference_identifier ON search_reference (tenant, res_type, param, identifier_value)
    WHERE identifier_value IS NOT NULL;
DROP INDEX search_reference_url;
CREATE INDEX search_reference_url ON search_reference (tenant, res_type, param, target_url)
    WHERE target_url IS NOT NULL;
-- `system|` searches also compare the system itself (src/store/search.rs).
DROP INDEX search_token_system;
CREATE INDEX search_token_system ON search_token (tenant, res_type, param, hash_system)
    WHERE system IS NOT NULL;
-- The dashboard's periods and the worklist's assignee filter.
DROP INDEX billing_claims_submitted;
CREATE INDEX billing_claims_submitted ON billing_claims (submitted_at, charge_cents)
    WHERE submitted_at IS NOT NULL;
DROP INDEX billing_claims_first_paid;
CREATE INDEX billing_claims_first_paid ON billing_claims (first_paid_at, submitted_at, created_at)
    WHERE first_paid_at IS NOT NULL;
DROP INDEX billing_claims_assignee;
CREATE INDEX billing_claims_assignee ON billing_claims (assignee, id)
    WHERE assignee IS NOT NULL;
