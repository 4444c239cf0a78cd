-- Fewer index entries for every resource version, claim state change and audit
-- event written (issues 4 and 5's figures, BENCHMARKS.md): index insertion is
-- the largest share of PostgreSQL's work per HL7 admission and per claim.
--
-- Keys on a sequence alone, which no statement looks up: history pages and audit
-- pages are read per tenant, newest first, through (tenant, sequence), so that
-- index becomes the primary key and the key on the sequence alone goes. A claim's
-- state changes are read by claim, and by state and time; their own key was
-- used by nothing (their order within a claim is the `id` column, which stays).
-- The server only inserts there, which logical replication needs no key for.
--
-- History by time (`_since`): versions are appended in time order, so a block
-- range index finds recent ones as well as a B-tree did, and a new version costs
-- no B-tree descent (the range being filled is summarised by VACUUM later).
--
-- Upgrading builds the new keys and the range index under an exclusive lock on
-- each table: on a large database, run it in a maintenance window.
ALTER TABLE resource_history DROP CONSTRAINT resource_history_pkey;
ALTER TABLE resource_history ADD PRIMARY KEY (tenant, change_seq);
DROP INDEX resource_history_tenant_seq;

DROP INDEX resource_history_updated;
CREATE INDEX resource_history_updated ON resource_history USING brin (last_updated);

ALTER TABLE audit_events DROP CONSTRAINT audit_events_pkey;
ALTER TABLE audit_events ADD PRIMARY KEY (tenant, seq);
DROP INDEX audit_events_tenant_seq;

ALTER TABLE billing_state_history DROP CONSTRAINT billing_state_history_pkey;
