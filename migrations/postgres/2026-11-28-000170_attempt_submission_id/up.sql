-- The submission an attempt sent or asked about (`cb-<job id>`, the name of the
-- upload at the clearinghouse). A later submission of the same claim asks the
-- vendor about an earlier one's unanswered upload by that name rather than by its
-- own, which the vendor has never seen: without it, an upload whose job died
-- before its answer was recorded was sent again. NULL for attempts recorded before
-- it and for operations that are not about a submission.
ALTER TABLE integration_attempts ADD COLUMN submission_id TEXT;
