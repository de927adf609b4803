-- +goose Up
-- Drafts: filings saved before they are filed, unchecked, for the
-- organization that saved them; filing one removes it in the filing's own
-- transaction.
CREATE TABLE drafts (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    filing          jsonb NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX drafts_organization ON drafts (organization_id, id);

-- +goose Down
DROP TABLE drafts;
