-- +goose Up
-- Users who want each of their organization's notices by email, and the
-- language it is written in.
ALTER TABLE users ADD COLUMN notify_email boolean NOT NULL DEFAULT false,
    ADD COLUMN language text NOT NULL DEFAULT 'zh';

-- +goose Down
ALTER TABLE users DROP COLUMN notify_email, DROP COLUMN language;
