-- The console's lists (issue 9), each a keyset page newest first, read through an
-- index that leads with its filter:
-- a tenant's attempt log,
CREATE INDEX integration_attempts_tenant ON integration_attempts (tenant, id);
-- an integration's latest connection test (its "last health"),
CREATE INDEX integration_attempts_operation ON integration_attempts (integration_id, operation, id);
-- HL7 messages by type, and by status and type.
CREATE INDEX hl7_messages_type ON hl7_messages (message_type, id);
CREATE INDEX hl7_messages_status_type ON hl7_messages (status, message_type, id);
