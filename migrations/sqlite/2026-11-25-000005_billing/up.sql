-- SQLite dialect of the PostgreSQL migration of the same name (timestamps in
-- microseconds since the Unix epoch).
-- The billing side of FHIR Claims (issue 5). The Claim itself stays a FHIR resource;
-- these rows keep what FHIR has no home for.
--
-- billing_claims: where each claim stands. `id` is short and numeric so that the
-- patient control number made from it (CLM01, "CB" + id) fits the 20 characters
-- payers echo back in 277CA and 835; a FHIR id (a UUID) does not.
CREATE TABLE billing_claims (
    id          INTEGER     PRIMARY KEY AUTOINCREMENT,
    claim_id    TEXT        NOT NULL UNIQUE,
    state       TEXT        NOT NULL,
    updated_at  BIGINT      NOT NULL
);
CREATE INDEX billing_claims_state ON billing_claims (state, id);

-- Every move of a claim between billing states: who, why, when.
CREATE TABLE billing_state_history (
    id          INTEGER     PRIMARY KEY AUTOINCREMENT,
    claim_id    TEXT        NOT NULL,
    from_state  TEXT,
    to_state    TEXT        NOT NULL,
    actor       TEXT        NOT NULL,
    reason      TEXT,
    -- JSON: what the move carried (scrub findings, a payer's reason codes…)
    details     TEXT,
    at          BIGINT      NOT NULL
);
CREATE INDEX billing_state_history_claim ON billing_state_history (claim_id, id);

-- X12 interchanges written: the id is the ISA13 control number, unique per sender.
CREATE TABLE x12_interchanges (
    control_number INTEGER     PRIMARY KEY AUTOINCREMENT,
    kind           TEXT        NOT NULL,
    document       TEXT        NOT NULL,
    created_at     BIGINT      NOT NULL
);
