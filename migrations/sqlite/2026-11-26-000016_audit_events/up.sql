-- SQLite dialect of the PostgreSQL migration of the same name (timestamps in
-- microseconds since the Unix epoch, the AuditEvent as JSON text).
-- The audit trail (issue 7): one FHIR R4 AuditEvent per access to PHI (FHIR
-- interactions, Bundles, HL7 v2 ingest, the billing API) and per admin
-- configuration change, refused requests included.
--
-- Append-only: the server only ever INSERTs here, and the triggers below refuse
-- UPDATE and DELETE. Retention is an operator's job: drop the triggers, purge,
-- put them back.
--
-- `body` is the whole AuditEvent as served; the other columns are copies of what
-- `GET /fhir/AuditEvent` filters on (few indexes: each is paid on every request).
-- Nothing here holds PHI: agents are client
-- ids, user subjects, network addresses and HL7 sending applications; entities
-- are references (`Patient/123`), resource types and search parameter names.
CREATE TABLE audit_events (
    seq           INTEGER     PRIMARY KEY AUTOINCREMENT,
    event_id      TEXT        NOT NULL UNIQUE,
    tenant        TEXT        NOT NULL DEFAULT 'default',
    recorded      BIGINT      NOT NULL,
    type_code     TEXT        NOT NULL,
    subtype       TEXT,
    action        TEXT        NOT NULL,
    outcome       TEXT        NOT NULL,
    agent_client  TEXT,
    agent_user    TEXT,
    address       TEXT,
    body          TEXT        NOT NULL
);
CREATE INDEX audit_events_tenant_seq ON audit_events (tenant, seq);
CREATE INDEX audit_events_tenant_recorded ON audit_events (tenant, recorded);
CREATE INDEX audit_events_client ON audit_events (tenant, agent_client, seq)
    WHERE agent_client IS NOT NULL;
CREATE INDEX audit_events_user ON audit_events (tenant, agent_user, seq)
    WHERE agent_user IS NOT NULL;

CREATE TABLE audit_event_entities (
    event_id   TEXT NOT NULL,
    tenant     TEXT NOT NULL DEFAULT 'default',
    reference  TEXT NOT NULL
);
CREATE INDEX audit_event_entities_reference ON audit_event_entities (tenant, reference, event_id);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only (audit_events)'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only (audit_events)'); END;
CREATE TRIGGER audit_event_entities_no_update BEFORE UPDATE ON audit_event_entities
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only (audit_event_entities)'); END;
CREATE TRIGGER audit_event_entities_no_delete BEFORE DELETE ON audit_event_entities
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only (audit_event_entities)'); END;
