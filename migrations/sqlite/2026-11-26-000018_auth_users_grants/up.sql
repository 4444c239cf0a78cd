-- SQLite dialect of the PostgreSQL migration of the same name (timestamps in
-- microseconds since the Unix epoch).
-- Users and the grants of SMART App Launch (issue 7): the people who sign in on the
-- embedded authorization server's login page, the authorization codes and refresh
-- tokens handed to apps on their behalf, EHR launch contexts, and revocations.
--
-- Codes and refresh tokens are kept as SHA-256 (hex) of their random value: a
-- leaked table gives nothing to redeem.

CREATE TABLE auth_users (
    user_id        TEXT        PRIMARY KEY,
    tenant         TEXT        NOT NULL,
    username       TEXT        NOT NULL UNIQUE,
    -- Argon2id, PHC string format
    password_hash  TEXT        NOT NULL,
    display_name   TEXT        NOT NULL,
    -- the FHIR resource the user is (Practitioner/123), for the fhirUser claim
    fhir_user      TEXT,
    -- what apps may be granted on the user's behalf, space separated
    scopes         TEXT        NOT NULL,
    enabled        BOOLEAN     NOT NULL,
    created_at     BIGINT      NOT NULL
);

-- An authorization code lives a minute and is redeemed once (deleted when it is).
CREATE TABLE auth_codes (
    code_hash       TEXT        PRIMARY KEY,
    client_id       TEXT        NOT NULL,
    user_id         TEXT        NOT NULL,
    redirect_uri    TEXT        NOT NULL,
    scope           TEXT        NOT NULL,
    -- PKCE: BASE64URL(SHA-256(code_verifier))
    code_challenge  TEXT        NOT NULL,
    nonce           TEXT,
    patient         TEXT,
    encounter       TEXT,
    expires_at      BIGINT      NOT NULL
);
CREATE INDEX auth_codes_expiry ON auth_codes (expires_at);

-- Refresh tokens rotate: each use marks the token used and issues the next of the
-- same family; a used one presented again means it leaked, and the whole family
-- (and the access tokens it produced) is revoked.
CREATE TABLE auth_refresh_tokens (
    token_hash   TEXT        PRIMARY KEY,
    family_id    TEXT        NOT NULL,
    client_id    TEXT        NOT NULL,
    user_id      TEXT        NOT NULL,
    scope        TEXT        NOT NULL,
    patient      TEXT,
    encounter    TEXT,
    created_at   BIGINT      NOT NULL,
    expires_at   BIGINT      NOT NULL,
    used_at      BIGINT     
);
CREATE INDEX auth_refresh_tokens_family ON auth_refresh_tokens (family_id);
CREATE INDEX auth_refresh_tokens_expiry ON auth_refresh_tokens (expires_at);

-- What an EHR hands an app it launches (`launch` parameter): the patient and
-- encounter in context. Short-lived.
CREATE TABLE auth_launch_contexts (
    launch_id   TEXT        PRIMARY KEY,
    tenant      TEXT        NOT NULL,
    patient     TEXT,
    encounter   TEXT,
    created_by  TEXT        NOT NULL,
    expires_at  BIGINT      NOT NULL
);

-- Revoked access tokens (by jti) and grants (by refresh-token family: every access
-- token issued from it), kept until what they name has expired.
CREATE TABLE auth_revocations (
    revoked_id  TEXT        PRIMARY KEY,
    expires_at  BIGINT      NOT NULL
);
CREATE INDEX auth_revocations_expiry ON auth_revocations (expires_at);
