-- The console's claims worklist (issue 9): who the claim is billed to and which biller
-- works it, kept on the billing row so the worklist filters without reading FHIR.
-- The payer is the payer Organization's name as billing resolved it when it first saw
-- the claim (NULL when it could not: no Coverage yet).
ALTER TABLE billing_claims ADD COLUMN payer TEXT;
ALTER TABLE billing_claims ADD COLUMN assignee TEXT;
-- Each worklist filter reads an index that leads with it (keyset pages, newest first);
-- a state filter has billing_claims_state already, a date range billing_claims_created.
CREATE INDEX billing_claims_payer ON billing_claims (payer, id);
CREATE INDEX billing_claims_assignee ON billing_claims (assignee, id);
-- Denials by category, for "claims with a denial of category X".
CREATE INDEX claim_denials_category ON claim_denials (category, claim_id);
