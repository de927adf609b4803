-- +goose Up
-- An organization's saved parties (its own details, its frequent grantors),
-- under a label, for its filing forms.
CREATE TABLE saved_parties (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    label           text NOT NULL,
    party           jsonb NOT NULL,
    created_at      timestamptz NOT NULL
);
CREATE INDEX saved_parties_organization ON saved_parties (organization_id, id);

-- +goose Down
DROP TABLE saved_parties;
