-- +goose Up
-- A sign-up that an admin rejects frees its USCC and its users' emails: the
-- uniqueness of both holds only among what was not rejected.
ALTER TABLE organizations
    DROP CONSTRAINT organizations_status,
    ADD CONSTRAINT organizations_status CHECK (status IN ('pending', 'active', 'suspended', 'rejected')),
    ADD COLUMN status_note text NOT NULL DEFAULT '';
ALTER TABLE organizations DROP CONSTRAINT organizations_uscc_key;
CREATE UNIQUE INDEX organizations_uscc ON organizations (uscc) WHERE status <> 'rejected';

ALTER TABLE users ADD COLUMN released_at timestamptz;
ALTER TABLE users DROP CONSTRAINT users_email_key;
CREATE UNIQUE INDEX users_email ON users (email) WHERE released_at IS NULL;

-- Searches by identity number, per searcher, over the last hour: the times
-- of those let through (at most the cap), and when a burst was last flagged.
CREATE TABLE id_number_allowances (
    searcher   text PRIMARY KEY,
    times      timestamptz[] NOT NULL,
    flagged_at timestamptz
);

-- +goose Down
DROP TABLE id_number_allowances;
DROP INDEX users_email;
DELETE FROM tokens WHERE user_id IN (SELECT id FROM users WHERE released_at IS NOT NULL);
DELETE FROM users WHERE released_at IS NOT NULL;
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email), DROP COLUMN released_at;
DROP INDEX organizations_uscc;
DELETE FROM organizations WHERE status = 'rejected';
ALTER TABLE organizations
    ADD CONSTRAINT organizations_uscc_key UNIQUE (uscc),
    DROP CONSTRAINT organizations_status,
    ADD CONSTRAINT organizations_status CHECK (status IN ('pending', 'active', 'suspended')),
    DROP COLUMN status_note;
