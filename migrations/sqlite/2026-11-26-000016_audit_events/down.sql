DROP TABLE audit_event_entities;
DROP TABLE audit_events;
