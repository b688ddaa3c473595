-- A facilitator can lock a group: nobody new joins it (a child already in keeps their
-- credential and comes back on the same device). The time it was locked, NULL while open.
-- Keep in step with ../sqlite/0007_limits.sql.
ALTER TABLE groups ADD COLUMN locked_at BIGINT;
