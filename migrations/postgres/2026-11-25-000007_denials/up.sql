-- Denials recorded when an 835 denies a claim (issue 5): what the payer said, what
-- the playbook made of it, and what happened since. One row per denial of a claim
-- by a remittance; the knowledge base's prose is not copied (it is data that can be
-- improved), only what work queues filter on.
CREATE TABLE claim_denials (
    id             BIGSERIAL   PRIMARY KEY,
    claim_id       TEXT        NOT NULL REFERENCES billing_claims (claim_id),
    remittance_id  BIGINT      NOT NULL REFERENCES remittances (id),
    -- the reason that decided the playbook: CAS group and CARC, as CO-197
    code           TEXT        NOT NULL,
    -- JSON: every reason given, [{"code": "CO-197", "amount": "200.00"}, …]
    reasons        TEXT        NOT NULL,
    -- remark codes (RARC), space separated
    rarcs          TEXT        NOT NULL,
    amount_cents   BIGINT      NOT NULL,
    -- the knowledge base's category of the CARC, when known
    category       TEXT,
    playbook_id    TEXT,
    -- what was done: auto_resubmit | manual_review | notify
    action         TEXT        NOT NULL,
    -- the work queue (manual_review) or recipient (notify)
    assignee       TEXT,
    -- JSON array of instructions for whoever works it
    instructions   TEXT        NOT NULL,
    -- how many times this playbook has now handled this claim
    attempt        INTEGER     NOT NULL,
    -- open | resubmit_queued | resolved
    status         TEXT        NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    -- JSON, once resolved: {"at": …, "by": …, "note": …}
    resolution     TEXT
);
CREATE INDEX claim_denials_claim ON claim_denials (claim_id, id);
CREATE INDEX claim_denials_status ON claim_denials (status, id);
