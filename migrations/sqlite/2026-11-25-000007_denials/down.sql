DROP TABLE claim_denials;
