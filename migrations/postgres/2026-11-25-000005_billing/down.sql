DROP TABLE x12_interchanges;
DROP TABLE billing_state_history;
DROP TABLE billing_claims;
