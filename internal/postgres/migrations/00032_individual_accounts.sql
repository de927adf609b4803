-- +goose Up
-- An individual holds an account too (kind individual): identified by the
-- resident identity number instead of a USCC, with the address on the
-- identity card. Either identifier is unique among the accounts that were
-- not rejected; an individual's uscc, and anyone else's id_number, is empty.
ALTER TABLE organizations
    ADD COLUMN id_number text NOT NULL DEFAULT '',
    ADD COLUMN address   text NOT NULL DEFAULT '';
DROP INDEX organizations_uscc;
-- Individuals' accounts that a Down of this migration set aside come back
-- as they were (none on a register that never went down).
CREATE TABLE IF NOT EXISTS organizations_individuals_set_aside (
    organization_id uuid PRIMARY KEY,
    id_number       text NOT NULL,
    address         text NOT NULL,
    status          text NOT NULL
);
UPDATE organizations o SET id_number = s.id_number, address = s.address, status = s.status
FROM organizations_individuals_set_aside s WHERE s.organization_id = o.id;
DROP TABLE organizations_individuals_set_aside;
ALTER TABLE organizations
    ADD CONSTRAINT organizations_individual CHECK ((kind = 'individual') = (id_number <> '')),
    ADD CONSTRAINT organizations_individual_uscc CHECK (kind <> 'individual' OR uscc = '');
CREATE UNIQUE INDEX organizations_uscc ON organizations (uscc) WHERE status <> 'rejected' AND uscc <> '';
CREATE UNIQUE INDEX organizations_id_number ON organizations (id_number) WHERE status <> 'rejected' AND id_number <> '';

-- +goose Down
-- The schema before this migration has no place for an individual: every
-- individual's account would hold the same empty USCC, which its unique
-- index refuses once there are two. So each is set aside: its identity
-- number, address and status are kept in a table of their own, and the
-- account stays, rejected (which the index leaves out, and which nobody
-- signs in to), until this migration is applied again and restores it.
CREATE TABLE organizations_individuals_set_aside (
    organization_id uuid PRIMARY KEY,
    id_number       text NOT NULL,
    address         text NOT NULL,
    status          text NOT NULL
);
INSERT INTO organizations_individuals_set_aside (organization_id, id_number, address, status)
SELECT id, id_number, address, status FROM organizations WHERE kind = 'individual';
UPDATE organizations SET status = 'rejected' WHERE kind = 'individual';
DROP INDEX organizations_id_number;
DROP INDEX organizations_uscc;
CREATE UNIQUE INDEX organizations_uscc ON organizations (uscc) WHERE status <> 'rejected';
ALTER TABLE organizations
    DROP CONSTRAINT organizations_individual_uscc,
    DROP CONSTRAINT organizations_individual,
    DROP COLUMN address,
    DROP COLUMN id_number;
