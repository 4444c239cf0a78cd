ALTER TABLE integration_attempts DROP COLUMN submission_id;
