-- +goose Up
-- Failed sign-ins by account and by address, when several instances share
-- them (rate_limits.shared). Unlogged, as the limits are.
CREATE UNLOGGED TABLE sign_in_failures (
    key      text PRIMARY KEY,
    failures integer NOT NULL,
    last_at  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE sign_in_failures;
