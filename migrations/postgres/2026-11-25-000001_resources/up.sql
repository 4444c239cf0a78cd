-- Current version of every resource, one row per logical resource.
-- `body` holds the JSON of the current version, meta.versionId/lastUpdated included,
-- so a read returns it without touching the history table.
CREATE TABLE resources (
    res_type     TEXT        NOT NULL,
    res_id       TEXT        NOT NULL,
    version_id   BIGINT      NOT NULL,
    last_updated TIMESTAMPTZ NOT NULL,
    deleted      BOOLEAN     NOT NULL DEFAULT FALSE,
    change_seq   BIGINT      NOT NULL,
    body         JSONB       NOT NULL,
    PRIMARY KEY (res_type, res_id)
);

-- Every version ever written. `change_seq` is the server-wide change counter: it
-- orders all writes, drives history paging (keyset, newest first) and `_since`.
CREATE TABLE resource_history (
    change_seq   BIGSERIAL   PRIMARY KEY,
    res_type     TEXT        NOT NULL,
    res_id       TEXT        NOT NULL,
    version_id   BIGINT      NOT NULL,
    last_updated TIMESTAMPTZ NOT NULL,
    method       TEXT        NOT NULL,
    deleted      BOOLEAN     NOT NULL DEFAULT FALSE,
    body         JSONB,
    UNIQUE (res_type, res_id, version_id)
);
CREATE INDEX resource_history_type_seq ON resource_history (res_type, change_seq);
CREATE INDEX resource_history_updated ON resource_history (last_updated);

-- Search index: one row per extracted value of the current version of a resource,
-- replaced in the same transaction as the write that produced it. Tokens carry
-- fixed-width hashes of (param, code), (param, system|code) and (param, system|) so
-- the common token predicates are a single narrow index seek.
CREATE TABLE search_token (
    id               BIGSERIAL PRIMARY KEY,
    res_type         TEXT   NOT NULL,
    res_id           TEXT   NOT NULL,
    param            TEXT   NOT NULL,
    system           TEXT,
    code             TEXT,
    display          TEXT,
    hash_code        BIGINT NOT NULL,
    hash_system_code BIGINT NOT NULL,
    hash_system      BIGINT NOT NULL
);
CREATE INDEX search_token_code ON search_token (res_type, hash_code);
CREATE INDEX search_token_system_code ON search_token (res_type, hash_system_code);
CREATE INDEX search_token_system ON search_token (res_type, hash_system);
CREATE INDEX search_token_resource ON search_token (res_type, res_id);

-- Strings keep a case- and accent-folded copy for the default starts-with search.
CREATE TABLE search_string (
    id               BIGSERIAL PRIMARY KEY,
    res_type         TEXT NOT NULL,
    res_id           TEXT NOT NULL,
    param            TEXT NOT NULL,
    value_normalized TEXT NOT NULL,
    value_exact      TEXT NOT NULL
);
CREATE INDEX search_string_value ON search_string (res_type, param, value_normalized);
CREATE INDEX search_string_resource ON search_string (res_type, res_id);

-- Dates as the [low, high] instant range they denote (a partial date is a range).
CREATE TABLE search_date (
    id       BIGSERIAL PRIMARY KEY,
    res_type TEXT        NOT NULL,
    res_id   TEXT        NOT NULL,
    param    TEXT        NOT NULL,
    low      TIMESTAMPTZ NOT NULL,
    high     TIMESTAMPTZ NOT NULL
);
CREATE INDEX search_date_range ON search_date (res_type, param, low, high);
CREATE INDEX search_date_resource ON search_date (res_type, res_id);

-- Numbers and quantities as the range their stated precision implies.
CREATE TABLE search_quantity (
    id       BIGSERIAL PRIMARY KEY,
    res_type TEXT             NOT NULL,
    res_id   TEXT             NOT NULL,
    param    TEXT             NOT NULL,
    low      DOUBLE PRECISION NOT NULL,
    high     DOUBLE PRECISION NOT NULL,
    system   TEXT,
    code     TEXT,
    unit     TEXT
);
CREATE INDEX search_quantity_range ON search_quantity (res_type, param, low, high);
CREATE INDEX search_quantity_resource ON search_quantity (res_type, res_id);

-- References, by relative target (type/id), absolute URL, or logical identifier.
CREATE TABLE search_reference (
    id                BIGSERIAL PRIMARY KEY,
    res_type          TEXT NOT NULL,
    res_id            TEXT NOT NULL,
    param             TEXT NOT NULL,
    target_type       TEXT,
    target_id         TEXT,
    target_url        TEXT,
    identifier_system TEXT,
    identifier_value  TEXT
);
CREATE INDEX search_reference_target ON search_reference (target_type, target_id, param);
CREATE INDEX search_reference_resource ON search_reference (res_type, res_id);

CREATE TABLE search_uri (
    id       BIGSERIAL PRIMARY KEY,
    res_type TEXT NOT NULL,
    res_id   TEXT NOT NULL,
    param    TEXT NOT NULL,
    uri      TEXT NOT NULL
);
CREATE INDEX search_uri_value ON search_uri (res_type, param, uri);
CREATE INDEX search_uri_resource ON search_uri (res_type, res_id);
