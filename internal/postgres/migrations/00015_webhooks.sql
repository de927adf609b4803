-- +goose Up
-- Organizations' addresses for their notices, with the secret deliveries
-- are signed with (HMAC needs it as it is).
CREATE TABLE webhooks (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    url             text NOT NULL,
    secret          text NOT NULL,
    created_at      timestamptz NOT NULL
);
CREATE INDEX webhooks_organization ON webhooks (organization_id, id);

-- +goose Down
DROP TABLE webhooks;
