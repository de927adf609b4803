-- +goose Up
-- The flush barrier's row, one per registryd process: a transaction that
-- writes nothing to the write-ahead log before its commit record commits
-- asynchronously whatever synchronous_commit says, so the barrier must
-- change a row for PostgreSQL to flush the log up to its commit (durable.go).
CREATE TABLE flush_barriers (
    id uuid PRIMARY KEY,
    n  bigint NOT NULL
) WITH (fillfactor = 50);

-- +goose Down
DROP TABLE flush_barriers;
