-- +goose Up
-- The backups taken of this database, as the backup tools report them after
-- each one succeeds (scripts/backup-record.sh): registryd shows the newest
-- of each kind on /metrics, so that an alert fires when backups stop. It
-- records, it does not prove: the repository is the truth, and a restore
-- drill the test of it. After a restore the table holds the backups up to
-- the restored instant only.
CREATE TABLE backups (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    finished_at timestamptz NOT NULL DEFAULT now(),
    -- full, diff, incr (pgBackRest's types), base (pg_basebackup), ...
    kind        text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_-]{0,31}$'),
    -- the tool's name for the backup (pgBackRest's label, a file name)
    label       text NOT NULL CHECK (label <> '' AND length(label) <= 200),
    -- where it is kept (a pgBackRest repository, a path, a bucket)
    repository  text NOT NULL CHECK (repository <> '' AND length(repository) <= 500)
);
CREATE INDEX backups_kind_finished ON backups (kind, finished_at DESC);

-- +goose Down
DROP TABLE backups;
