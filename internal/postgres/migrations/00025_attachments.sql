-- +goose Up
-- Files uploaded to be named in filings (the collateral list, say): kept
-- byte for byte, their SHA-256 recorded in the events that name them.
CREATE TABLE attachments (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    sha256          text NOT NULL,
    media_type      text NOT NULL,
    size            integer NOT NULL,
    data            bytea NOT NULL,
    created_at      timestamptz NOT NULL
);
ALTER TABLE attachments ALTER COLUMN data SET STORAGE EXTERNAL;

-- +goose Down
DROP TABLE attachments;
