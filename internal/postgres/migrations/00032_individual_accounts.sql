-- +goose Up
-- An individual holds an account too (kind individual): identified by the
-- resident identity number instead of a USCC, with the address on the
-- identity card. Either identifier is unique among the accounts that were
-- not rejected; an individual's uscc, and anyone else's id_number, is empty.
ALTER TABLE organizations
    ADD COLUMN id_number text NOT NULL DEFAULT '',
    ADD COLUMN address   text NOT NULL DEFAULT '',
    ADD CONSTRAINT organizations_individual CHECK ((kind = 'individual') = (id_number <> '')),
    ADD CONSTRAINT organizations_individual_uscc CHECK (kind <> 'individual' OR uscc = '');
DROP INDEX organizations_uscc;
CREATE UNIQUE INDEX organizations_uscc ON organizations (uscc) WHERE status <> 'rejected' AND uscc <> '';
CREATE UNIQUE INDEX organizations_id_number ON organizations (id_number) WHERE status <> 'rejected' AND id_number <> '';

-- +goose Down
-- Fails while two individuals hold accounts: without id_number they would
-- share the empty USCC.
DROP INDEX organizations_id_number;
DROP INDEX organizations_uscc;
CREATE UNIQUE INDEX organizations_uscc ON organizations (uscc) WHERE status <> 'rejected';
ALTER TABLE organizations
    DROP CONSTRAINT organizations_individual_uscc,
    DROP CONSTRAINT organizations_individual,
    DROP COLUMN address,
    DROP COLUMN id_number;
