-- Where each integration's feeds were read up to (issue 6): Claim.MD's claim
-- responses (`last_responseid`) and ERAs (`last_eraid`). A cursor is saved only in
-- the transaction that commits what its page returned, so a crash re-reads a page
-- rather than skipping one (applying a page twice is harmless: state moves are
-- checked, and an 835 is posted once per payer and trace number).
CREATE TABLE feed_cursors (
    integration_id  TEXT        NOT NULL,
    -- claim_status | remittance
    feed            TEXT        NOT NULL,
    cursor          TEXT        NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (integration_id, feed)
);
