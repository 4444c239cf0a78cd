-- SQLite dialect of the PostgreSQL migration of the same name (timestamps in
-- microseconds since the Unix epoch).
-- What the billing dashboard (issue 5, GET /api/billing/dashboard/kpis) sums, kept on
-- the rows it sums so that each figure is one aggregate over an index range, even
-- with hundreds of thousands of claims; and what the remittance list shows per
-- remittance without reading its report.
--
-- billing_claims:
--   charge_cents   the Claim's total (Claim.total.value) in cents: taken when billing
--                  first sees the claim and again each time it is submitted (what
--                  the payer was billed); NULL when the Claim states no total
--   created_at     when billing first saw the claim
--   submitted_at   its first move to `submitted`: when it was billed
--   first_paid_at  when its first payment (a payer payment above zero) was posted
ALTER TABLE billing_claims ADD COLUMN charge_cents BIGINT;
-- SQLite adds a NOT NULL column only with a default; every row gets its value below
-- and every insert sets it.
ALTER TABLE billing_claims ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE billing_claims ADD COLUMN submitted_at BIGINT;
ALTER TABLE billing_claims ADD COLUMN first_paid_at BIGINT;

-- Claims billed before this migration, read back from what is already stored.
UPDATE billing_claims SET
    charge_cents = (
        SELECT CAST(ROUND(json_extract(r.body, '$.total.value') * 100) AS INTEGER)
        FROM resources AS r
        WHERE r.res_type = 'Claim' AND r.res_id = billing_claims.claim_id
    ),
    created_at = COALESCE(
        (SELECT MIN(h.at) FROM billing_state_history AS h WHERE h.claim_id = billing_claims.claim_id),
        billing_claims.updated_at
    ),
    submitted_at = (
        SELECT MIN(h.at) FROM billing_state_history AS h
        WHERE h.claim_id = billing_claims.claim_id AND h.to_state = 'submitted'
    ),
    first_paid_at = (
        SELECT MIN(l.posted_at) FROM ledger_entries AS l
        WHERE l.claim_id = billing_claims.claim_id AND l.kind = 'payment' AND l.amount_cents > 0
    );

-- Each index covers its figure's query (the range column first, then what is summed
-- or counted), so none of them reads the table.
CREATE INDEX billing_claims_submitted ON billing_claims (submitted_at, charge_cents);
CREATE INDEX billing_claims_first_paid ON billing_claims (first_paid_at, submitted_at, created_at);
CREATE INDEX billing_claims_created ON billing_claims (created_at, state);
CREATE INDEX billing_state_history_to_state ON billing_state_history (to_state, at, claim_id);
CREATE INDEX ledger_entries_kind_posted ON ledger_entries (kind, posted_at, amount_cents);

-- remittances: how many claim payments the posting matched to claims here and how
-- many it left unmatched (the lengths of the report's `posted` and `unmatched`).
ALTER TABLE remittances ADD COLUMN posted_claims BIGINT NOT NULL DEFAULT 0;
ALTER TABLE remittances ADD COLUMN unmatched_claims BIGINT NOT NULL DEFAULT 0;
UPDATE remittances SET
    posted_claims = COALESCE(json_array_length(report, '$.posted'), 0),
    unmatched_claims = COALESCE(json_array_length(report, '$.unmatched'), 0)
WHERE report <> '';
-- The list filtered by payer, newest first.
CREATE INDEX remittances_payer ON remittances (payer_id, id);
