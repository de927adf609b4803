-- +goose Up
-- The address of the instance that leads the sequencing of register writes
-- (when instances forward them to it), by the server process that holds
-- the leader's advisory lock: the live holder's row is the leader, so a
-- row left by a leader that died names nobody. Unlogged: it is made again
-- by the next leader after a crash.
CREATE UNLOGGED TABLE leaders (
    pid     integer PRIMARY KEY,
    address text NOT NULL,
    since   timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE leaders;
