-- SQLite dialect of the PostgreSQL migration of the same name (timestamps in
-- microseconds since the Unix epoch).
-- Every call the orchestrator made to an integration (issue 6): which one, for
-- which operation and subject (the claim a submission or status check was about),
-- how it ended and how long it took. It is how an admin or biller sees why a claim
-- went through Availity rather than Claim.MD: the failed attempts, the open circuit
-- that was skipped, the status check after an unanswered upload.
CREATE TABLE integration_attempts (
    id              INTEGER     PRIMARY KEY AUTOINCREMENT,
    tenant          TEXT        NOT NULL,
    -- no foreign key: the log outlives a deleted integration
    integration_id  TEXT        NOT NULL,
    vendor          TEXT        NOT NULL,
    -- the capability: submit_claim, claim_status, eligibility, …
    operation       TEXT        NOT NULL,
    -- what the operation was about, e.g. `Claim/123`; NULL for feeds and tests
    subject         TEXT,
    -- succeeded | transient | ambiguous | final | circuit_open | found | not_found
    outcome         TEXT        NOT NULL,
    -- why, for anything but success; never holds PHI (plugins' messages name
    -- fields and codes, not values)
    error           TEXT,
    latency_micros  BIGINT      NOT NULL,
    -- this integration was tried because one before it failed or was skipped
    failover        BOOLEAN     NOT NULL,
    attempted_at    BIGINT      NOT NULL
);
CREATE INDEX integration_attempts_subject ON integration_attempts (subject, id)
    WHERE subject IS NOT NULL;
CREATE INDEX integration_attempts_integration ON integration_attempts (integration_id, id);
