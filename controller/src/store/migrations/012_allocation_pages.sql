-- Allocations are listed in pages, newest first, the page after a cursor being the rows
-- below (created_at, id): the index follows that order in both columns.

DROP INDEX allocations_newest;
CREATE INDEX allocations_newest ON allocations (org_id, created_at DESC, id DESC);
