-- Webhooks vendors send (issue 6), stored before they are applied: the raw event
-- as the plugin verified it, once per (integration, vendor event id), so a
-- redelivered event is acknowledged without being applied twice.
CREATE TABLE webhook_events (
    id              BIGSERIAL   PRIMARY KEY,
    integration_id  TEXT        NOT NULL,
    vendor          TEXT        NOT NULL,
    -- the vendor's event id (Stripe `evt_…`)
    event_id        TEXT        NOT NULL,
    event_type      TEXT        NOT NULL,
    -- the event's JSON as the vendor sent it
    payload         TEXT        NOT NULL,
    -- applied | ignored (a type Claimbridge does not act on)
    status          TEXT        NOT NULL,
    -- what applying it did, in words
    note            TEXT,
    received_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (integration_id, event_id)
);

-- Money patients paid (or got back) through a payment processor, posted from its
-- events. Amounts in the currency's minor unit, as the processor counts them;
-- `claim_id` when the payment named one of our claims in its metadata.
CREATE TABLE patient_payments (
    id              BIGSERIAL   PRIMARY KEY,
    claim_id        TEXT        REFERENCES billing_claims (claim_id),
    integration_id  TEXT        NOT NULL,
    -- payment | refund
    kind            TEXT        NOT NULL,
    -- the processor's id of the payment or refund (`pi_…`, `re_…`)
    external_id     TEXT        NOT NULL,
    amount_minor    BIGINT      NOT NULL,
    currency        TEXT        NOT NULL,
    event_id        TEXT        NOT NULL,
    posted_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (integration_id, kind, external_id)
);
CREATE INDEX patient_payments_claim ON patient_payments (claim_id) WHERE claim_id IS NOT NULL;
