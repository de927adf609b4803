-- +goose Up
-- The digest an event's certificates were issued with (SHA-256 of its full
-- record), kept when the retention erasure rewrites that record: a number
-- still verifies against what its certificates printed, while the register
-- no longer holds the names the digest was taken over. Empty for an event
-- not erased (its digest is its record's), or erased before this column.
ALTER TABLE events ADD COLUMN issued_digest text;

-- +goose Down
ALTER TABLE events DROP COLUMN issued_digest;
