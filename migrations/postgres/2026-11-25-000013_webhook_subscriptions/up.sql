-- Outbound event webhooks (issue 6, item 7): who is told of claim, eligibility and
-- payment events, and every attempt to tell them.
--
-- A subscription's signing secret is sealed like integration credentials
-- (`crate::secrets`, AES-256-GCM): base64 ciphertext and nonce, `key_id` naming the
-- key that sealed it, the row's id as associated data so a ciphertext moved to
-- another row does not open.
CREATE TABLE webhook_subscriptions (
    id                 TEXT        PRIMARY KEY,
    tenant             TEXT        NOT NULL,
    -- where events are POSTed (http or https)
    url                TEXT        NOT NULL,
    -- JSON array of event names (`claim.paid`, …) or ["*"] for all of them
    events             TEXT        NOT NULL,
    secret_ciphertext  TEXT        NOT NULL,
    secret_nonce       TEXT        NOT NULL,
    key_id             TEXT        NOT NULL,
    enabled            BOOLEAN     NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);
-- The admin's list of a tenant's subscriptions. (Events read the enabled ones of
-- every tenant at once: a handful of rows.)
CREATE INDEX webhook_subscriptions_tenant ON webhook_subscriptions (tenant, created_at);

-- One row per attempt to deliver one event to one subscription: a delivery that
-- succeeds on its third try has two `failed` rows and one `delivered`.
CREATE TABLE webhook_deliveries (
    id               BIGSERIAL   PRIMARY KEY,
    -- a deleted subscription takes its delivery log with it
    subscription_id  TEXT        NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    -- `evt_<uuid>`, the same on every attempt (subscribers deduplicate by it)
    event_id         TEXT        NOT NULL,
    event_type       TEXT        NOT NULL,
    -- the delivery job's attempt number, from 1
    attempt          INTEGER     NOT NULL,
    status           TEXT        NOT NULL,
    -- the subscriber's answer; NULL when none came (refused connection, timeout)
    http_status      INTEGER,
    -- why a failed attempt failed; never the body, which the subscriber wrote
    error            TEXT,
    latency_ms       BIGINT      NOT NULL,
    delivered_at     TIMESTAMPTZ NOT NULL,
    CHECK (status IN ('delivered', 'failed'))
);
-- A subscription's deliveries newest first, paged by id.
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id, id);
