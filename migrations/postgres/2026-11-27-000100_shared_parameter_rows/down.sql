-- The deleted rows are not restored: each resource's rows are written again, under
-- every code, the next time the earlier version writes it.
SELECT 1;
