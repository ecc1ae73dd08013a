-- intake (issue #15, PostgreSQL's work per reading): a spool row holds the points of one group
-- commit (its body a JSON array of them, `points` long) and an intake log row the entries of one
-- group commit for one partition (its body a JSON array of {kind, body}, `entries` long, its kind
-- 'group'): one row per commit (and partition) where there was one per point and per entry, so a
-- commit inserts, the pipeline and the owner read and delete a handful of rows, not hundreds.
-- Rows written before this hold one point or one entry (their body an object), as the defaults
-- say; the readers take both. Nodes of different versions do not share one database: stop every
-- node before the first node of this version starts (README, "Cluster": upgrading).
ALTER TABLE spool ADD COLUMN IF NOT EXISTS points INTEGER NOT NULL DEFAULT 1;
ALTER TABLE intake_log ADD COLUMN IF NOT EXISTS entries INTEGER NOT NULL DEFAULT 1;
