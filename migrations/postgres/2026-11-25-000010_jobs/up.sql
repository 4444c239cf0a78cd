-- The durable job queue (issue 6, item 5): work that must be done even when the
-- node that asked for it stops — claim submission, status syncs, ERA fetches,
-- webhook deliveries. A node claims due jobs by writing a lease (owner and expiry);
-- when a node dies its leases lapse and another node claims those jobs again, so
-- no job is lost and, while a lease holds, none runs twice. `attempts` counts the
-- claims and is the fencing token: an outcome is recorded only by the owner of the
-- attempt it belongs to, so a node whose lapsed lease was taken over cannot
-- overwrite the new owner's result. Times are the nodes' clocks (kept in sync by
-- NTP): a lease must be much longer than their drift.
CREATE TABLE jobs (
    id            BIGSERIAL   PRIMARY KEY,
    -- what to do: the name a handler is registered under (`claim.submit`, …)
    kind          TEXT        NOT NULL,
    -- JSON text: the handler's input
    payload       TEXT        NOT NULL,
    -- "the submission of claim X", "the ERA fetch of this hour": see the indexes
    dedupe_key    TEXT,
    status        TEXT        NOT NULL,
    attempts      INTEGER     NOT NULL,
    max_attempts  INTEGER     NOT NULL,
    -- not claimed before this time (a retry's backoff moves it)
    run_at        TIMESTAMPTZ NOT NULL,
    lease_owner   TEXT,
    lease_until   TIMESTAMPTZ,
    last_error    TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    CHECK (status IN ('queued', 'running', 'succeeded', 'dead'))
);
-- The claim query's two halves: due queued jobs in run_at order, and running jobs
-- whose lease lapsed. Partial, so they hold only the live jobs, never the history.
CREATE INDEX jobs_due ON jobs (run_at) WHERE status = 'queued';
CREATE INDEX jobs_lapsing ON jobs (lease_until) WHERE status = 'running';
-- One live job per dedupe key: enqueueing "the submission of claim X" again while
-- one is queued or running finds that one. A finished job frees its key.
CREATE UNIQUE INDEX jobs_live_dedupe ON jobs (dedupe_key) WHERE status IN ('queued', 'running');
-- A recurring job's key names its period; a node looks the key up among all jobs,
-- finished ones too, so a period whose job already ran is not enqueued again.
CREATE INDEX jobs_dedupe ON jobs (dedupe_key) WHERE dedupe_key IS NOT NULL;
-- Counts by status and kind (index-only), and lists of one status (and kind)
-- newest first, paged by id.
CREATE INDEX jobs_by_status ON jobs (status, kind, id);
