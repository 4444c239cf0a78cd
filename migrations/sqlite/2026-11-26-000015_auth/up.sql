-- SQLite dialect of the PostgreSQL migration of the same name (timestamps in
-- microseconds since the Unix epoch).
-- The embedded authorization server (issue 7): registered clients, the keys access
-- tokens are signed with, and the client assertions already used.
--
-- A client's secret is never stored: only the SHA-256 of the 32 random bytes it
-- was generated from (hex). That is enough for a secret nobody chose (no
-- dictionary to try), and verifying it costs a hash, not a key derivation.
CREATE TABLE auth_clients (
    client_id      TEXT        PRIMARY KEY,
    tenant         TEXT        NOT NULL,
    name           TEXT        NOT NULL,
    -- confidential | public | backend
    client_type    TEXT        NOT NULL,
    secret_hash    TEXT,
    -- JSON array of exact redirect URIs
    redirect_uris  TEXT        NOT NULL,
    -- what the client may ask for, space separated
    scopes         TEXT        NOT NULL,
    -- a JWK Set (JSON) or where to fetch one, for private_key_jwt
    jwks           TEXT,
    jwks_uri       TEXT,
    enabled        BOOLEAN     NOT NULL,
    created_at     BIGINT      NOT NULL,
    updated_at     BIGINT      NOT NULL,
    CHECK (client_type IN ('confidential', 'public', 'backend'))
);

-- Signing keys: the private key (PKCS#8) sealed like integration credentials
-- (AES-256-GCM, `key_id` naming the sealing key, the kid as associated data); the
-- public half as a JWK for the JWKS endpoint. A retired key signs nothing new and
-- is published until the tokens it signed have expired.
CREATE TABLE auth_signing_keys (
    kid                 TEXT        PRIMARY KEY,
    alg                 TEXT        NOT NULL,
    private_ciphertext  TEXT        NOT NULL,
    private_nonce       TEXT        NOT NULL,
    key_id              TEXT        NOT NULL,
    public_jwk          TEXT        NOT NULL,
    created_at          BIGINT      NOT NULL,
    retired_at          BIGINT     
);

-- Client assertions (private_key_jwt) seen, kept until they expire: a `jti` used
-- twice by one client is a replay.
CREATE TABLE auth_assertion_jtis (
    client_id   TEXT        NOT NULL,
    jti         TEXT        NOT NULL,
    expires_at  BIGINT      NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX auth_assertion_jtis_expiry ON auth_assertion_jtis (expires_at);
