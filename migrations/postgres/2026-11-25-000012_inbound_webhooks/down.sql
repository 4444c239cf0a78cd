DROP TABLE patient_payments;
DROP TABLE webhook_events;
