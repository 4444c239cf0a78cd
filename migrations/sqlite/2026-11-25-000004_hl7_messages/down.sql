DROP TABLE hl7_messages;
