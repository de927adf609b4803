-- +goose Up
-- An organization's search history, newest first.
CREATE INDEX searches_organization ON searches (organization_id, number DESC);

-- +goose Down
DROP INDEX searches_organization;
