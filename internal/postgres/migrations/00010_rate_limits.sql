-- +goose Up
-- Limits that several instances share (rate_limits.shared): per key, the
-- theoretical arrival time of the generic cell rate algorithm. Unlogged: a
-- crash forgets them, as a restart of a single instance does.
CREATE UNLOGGED TABLE rate_limits (
    key text PRIMARY KEY,
    tat timestamptz NOT NULL
);

-- +goose Down
DROP TABLE rate_limits;
