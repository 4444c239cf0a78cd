-- Posted 835 remittances (issue 5): the payments, the money they moved (the
-- ledger), and the claim payments that found no claim here. Amounts are whole
-- cents: exact, and summed without rounding.
--
-- remittances: one row per 835 transaction set. A payer's (payer_id, trace_number)
-- names one payment, so posting the same file again finds its row and answers with
-- the stored report instead of posting twice.
CREATE TABLE remittances (
    id             BIGSERIAL   PRIMARY KEY,
    -- REF*2U (or N104) of the payer, else TRN03, the payer's originating company id
    payer_id       TEXT        NOT NULL,
    payer_name     TEXT        NOT NULL,
    -- TRN02: the check or EFT trace number
    trace_number   TEXT        NOT NULL,
    -- BPR02, negative for a debit (BPR03 D)
    payment_cents  BIGINT      NOT NULL,
    -- BPR16, when readable
    payment_date   DATE,
    -- the whole 835 file as received
    raw            TEXT        NOT NULL,
    received_at    TIMESTAMPTZ NOT NULL,
    -- JSON: what posting did, returned again for a duplicate
    report         TEXT        NOT NULL,
    UNIQUE (payer_id, trace_number)
);

-- Money moved on claims (claim_id set) or on the provider's account (PLB, no claim).
-- Amounts keep the payer's sign: a negative payment is money taken back.
CREATE TABLE ledger_entries (
    id             BIGSERIAL   PRIMARY KEY,
    claim_id       TEXT        REFERENCES billing_claims (claim_id),
    remittance_id  BIGINT      NOT NULL REFERENCES remittances (id),
    -- payment | adjustment | refund
    kind           TEXT        NOT NULL,
    -- payer | patient: who bears the amount
    party          TEXT        NOT NULL,
    -- CAS01: CO PR OA PI CR (adjustments)
    group_code     TEXT,
    -- CAS reason (CARC), or PLB03-1 for provider-level adjustments
    reason_code    TEXT,
    amount_cents   BIGINT      NOT NULL,
    posted_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX ledger_entries_claim ON ledger_entries (claim_id);
CREATE INDEX ledger_entries_remittance ON ledger_entries (remittance_id);

-- Claim payments (CLP) whose patient control number names no claim here: kept
-- whole, for a person to match, never dropped.
CREATE TABLE unmatched_remittance_claims (
    id                          BIGSERIAL PRIMARY KEY,
    remittance_id               BIGINT    NOT NULL REFERENCES remittances (id),
    -- CLP01
    patient_control_number      TEXT      NOT NULL,
    -- CLP07
    payer_claim_control_number  TEXT,
    charge_cents                BIGINT    NOT NULL,
    paid_cents                  BIGINT    NOT NULL,
    -- JSON: the claim payment as read (adjustments, lines, patient…)
    detail                      TEXT      NOT NULL
);
CREATE INDEX unmatched_remittance_claims_remittance ON unmatched_remittance_claims (remittance_id);
