DROP INDEX hl7_messages_status_type;
DROP INDEX hl7_messages_type;
DROP INDEX integration_attempts_operation;
DROP INDEX integration_attempts_tenant;
