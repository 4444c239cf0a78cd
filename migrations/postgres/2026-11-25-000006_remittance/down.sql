DROP TABLE unmatched_remittance_claims;
DROP TABLE ledger_entries;
DROP TABLE remittances;
