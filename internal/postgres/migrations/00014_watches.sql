-- +goose Up
-- Standing searches of organizations: an event looks up the keys it adds
-- (a grantor's USCC, LEI or name key, an item's serial key) in the index
-- on (kind, key), never reading every watch.
CREATE TABLE watches (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    kind            text NOT NULL,
    key             text NOT NULL,
    criteria        jsonb NOT NULL,
    note            text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL
);
CREATE UNIQUE INDEX watches_once ON watches (organization_id, kind, key);
CREATE INDEX watches_key ON watches (kind, key);
ALTER TABLE notifications ADD COLUMN watch_id uuid;

-- +goose Down
ALTER TABLE notifications DROP COLUMN watch_id;
DROP TABLE watches;
