-- SQLite dialect of the PostgreSQL migration of the same name (timestamps in
-- microseconds since the Unix epoch).
-- The integration registry (issue 6): which clearinghouses and payment processors
-- a tenant uses, in what order, and with which credentials. Credentials are a JSON
-- object of strings sealed with AES-256-GCM (`crate::secrets`): the ciphertext and
-- nonce are base64, `key_id` names the key that sealed them so rotation can find
-- rows still under an old key. The associated data is the row's id, so a ciphertext
-- moved to another row does not open.
CREATE TABLE integrations (
    id                      TEXT        PRIMARY KEY,
    tenant                  TEXT        NOT NULL,
    -- claimmd | availity | stripe
    vendor                  TEXT        NOT NULL,
    name                    TEXT        NOT NULL,
    -- clearinghouse | payments
    category                TEXT        NOT NULL,
    -- lower goes first within a tenant and category
    priority                INTEGER     NOT NULL,
    enabled                 BOOLEAN     NOT NULL,
    base_url                TEXT        NOT NULL,
    -- JSON object of vendor-specific settings (not secret)
    settings                TEXT        NOT NULL,
    credentials_ciphertext  TEXT        NOT NULL,
    credentials_nonce       TEXT        NOT NULL,
    key_id                  TEXT        NOT NULL,
    created_at              BIGINT      NOT NULL,
    updated_at              BIGINT      NOT NULL,
    UNIQUE (tenant, name)
);
CREATE INDEX integrations_order ON integrations (tenant, category, priority);
