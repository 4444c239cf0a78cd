DROP INDEX claim_denials_category;
DROP INDEX billing_claims_assignee;
DROP INDEX billing_claims_payer;
ALTER TABLE billing_claims DROP COLUMN assignee;
ALTER TABLE billing_claims DROP COLUMN payer;
