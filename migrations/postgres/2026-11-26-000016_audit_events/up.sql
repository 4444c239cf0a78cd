-- The audit trail (issue 7): one FHIR R4 AuditEvent per access to PHI (FHIR
-- interactions, Bundles, HL7 v2 ingest, the billing API) and per admin
-- configuration change, refused requests included.
--
-- Append-only: the server only ever INSERTs here, and the triggers below refuse
-- UPDATE and DELETE, so a bug (or a compromised application account without DDL
-- rights) cannot rewrite history. Retention is a DBA's job: drop the triggers,
-- purge, put them back.
--
-- `body` is the whole AuditEvent as served; the other columns are copies of what
-- `GET /fhir/AuditEvent` filters on, so a search never looks inside the JSON.
-- It is TEXT, not JSONB: a row is written for every request, reads included, and
-- nothing queries inside it, so JSONB's parse on each insert would buy nothing.
-- Indexes are few for the same reason: each one is paid on every request.
-- Nothing here holds PHI: agents are client ids, user subjects, network addresses
-- and HL7 sending applications; entities are references (`Patient/123`), resource
-- types and search parameter names, never values.
CREATE TABLE audit_events (
    -- insertion order: newest first is `seq DESC`, and pages are keyed by it
    seq           BIGSERIAL   PRIMARY KEY,
    -- the AuditEvent's id (a UUID minted when the event happened)
    event_id      TEXT        NOT NULL UNIQUE,
    tenant        TEXT        NOT NULL DEFAULT 'default',
    recorded      TIMESTAMPTZ NOT NULL,
    -- AuditEvent.type code: rest (FHIR), 110107 (HL7 import), 110110 (billing
    -- API), 110113 (admin configuration)
    type_code     TEXT        NOT NULL,
    -- the first subtype code: a restful-interaction (read, search-type, …), an HL7
    -- message type (ADT^A01), or a route (POST /admin/clients)
    subtype       TEXT,
    -- C R U D E
    action        TEXT        NOT NULL,
    -- 0 success, 4 minor failure (4xx), 8 serious failure (5xx)
    outcome       TEXT        NOT NULL,
    agent_client  TEXT,
    -- the user, when a person (not the client itself) asked
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

-- What each event was about: one row per resource reference (`Patient/123`, no
-- version; the server writes each once per event), for `entity=` and `patient=`
-- searches, which look up by reference only.
CREATE TABLE audit_event_entities (
    event_id   TEXT NOT NULL,
    tenant     TEXT NOT NULL DEFAULT 'default',
    reference  TEXT NOT NULL
);
CREATE INDEX audit_event_entities_reference ON audit_event_entities (tenant, reference, event_id);

CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only (%)', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_event_entities_append_only BEFORE UPDATE OR DELETE ON audit_event_entities
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
