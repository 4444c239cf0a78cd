-- SQLite dialect of the PostgreSQL migration of the same name (timestamps in
-- microseconds since the Unix epoch).
-- Every HL7 v2 message received (issue 4), stored before it is acknowledged.
-- `(sending_application, sending_facility, control_id)` is what a sender resends
-- unchanged: its uniqueness makes a resent message find the first one's outcome
-- and ACK instead of being applied twice. A message whose MSH could not be read has
-- no control id (NULL: never a duplicate of anything).
CREATE TABLE hl7_messages (
    id                  INTEGER     PRIMARY KEY AUTOINCREMENT,
    received_at         BIGINT      NOT NULL,
    sending_application TEXT        NOT NULL,
    sending_facility    TEXT        NOT NULL,
    control_id          TEXT,
    message_type        TEXT        NOT NULL,
    version             TEXT        NOT NULL,
    -- processing | applied | stored | error | rejected
    status              TEXT        NOT NULL,
    error               TEXT,
    raw                 TEXT        NOT NULL,
    ack                 TEXT        NOT NULL,
    processed_at        BIGINT     ,
    UNIQUE (sending_application, sending_facility, control_id)
);
CREATE INDEX hl7_messages_status ON hl7_messages (status, id);
