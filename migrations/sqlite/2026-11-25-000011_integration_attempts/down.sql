DROP TABLE integration_attempts;
