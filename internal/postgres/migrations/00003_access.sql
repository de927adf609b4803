-- +goose Up
-- Accounts: organizations sign up and wait for approval; users and tokens can
-- be stopped at once without deleting anything.
ALTER TABLE organizations
    ADD CONSTRAINT organizations_status CHECK (status IN ('pending', 'active', 'suspended')),
    ADD COLUMN status_changed_at timestamptz;
CREATE INDEX organizations_status ON organizations (status, id);

ALTER TABLE users
    ADD COLUMN suspended_at timestamptz;
CREATE INDEX users_organization_id ON users (organization_id, id);
DROP INDEX users_organization;

ALTER TABLE tokens
    ADD COLUMN revoked_at timestamptz;
CREATE INDEX tokens_user_id ON tokens (user_id, id);
DROP INDEX tokens_user;

-- +goose Down
CREATE INDEX tokens_user ON tokens (user_id);
DROP INDEX tokens_user_id;
ALTER TABLE tokens DROP COLUMN revoked_at;
CREATE INDEX users_organization ON users (organization_id);
DROP INDEX users_organization_id;
ALTER TABLE users DROP COLUMN suspended_at;
DROP INDEX organizations_status;
ALTER TABLE organizations
    DROP CONSTRAINT organizations_status,
    DROP COLUMN status_changed_at;
