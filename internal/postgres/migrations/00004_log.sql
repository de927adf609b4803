-- +goose Up
-- The Merkle log over registry events: tlog's stored hashes, written in the
-- event's own transaction, keyed by tlog's storage index.
CREATE TABLE log_hashes (
    id   bigint PRIMARY KEY,
    hash bytea NOT NULL CHECK (length(hash) = 32)
);

-- Signed checkpoints as published, one per log size (the note holds the root).
CREATE TABLE checkpoints (
    size      bigint PRIMARY KEY,
    note      bytea NOT NULL,
    signed_at timestamptz NOT NULL
);

-- The audit trail is a hash chain: entry n's chain is
-- sha256(chain of n-1 || n as 8 bytes big-endian || the entry's canonical
-- bytes). Ids are handed out by audit_head, with no gaps, in commit order.
-- Entries written before this migration have no chain.
CREATE TABLE audit_head (
    id   boolean PRIMARY KEY DEFAULT true CHECK (id),
    seq  bigint NOT NULL,
    hash bytea NOT NULL
);
INSERT INTO audit_head (seq, hash) SELECT COALESCE(MAX(id), 0), decode(repeat('00', 32), 'hex') FROM audit_entries;
ALTER TABLE audit_entries
    ADD COLUMN chain bytea,
    ALTER COLUMN id DROP DEFAULT;
CREATE INDEX audit_entries_user ON audit_entries (user_id, id);
CREATE INDEX audit_entries_organization ON audit_entries (organization_id, id);
CREATE INDEX audit_entries_target ON audit_entries (target, id);
CREATE INDEX audit_entries_action ON audit_entries (action, id);

-- Lapses and expiries follow from the clock; a job records them as events.
-- These columns say which are still to be recorded.
ALTER TABLE registrations ADD COLUMN expiry_recorded_at timestamptz;
CREATE INDEX registrations_expiry_due ON registrations (expires_at) WHERE status = 'effective' AND expiry_recorded_at IS NULL;
CREATE TABLE objection_deadlines (
    objection_number    text PRIMARY KEY,
    registration_number text NOT NULL,
    lapses_at           timestamptz NOT NULL,
    settled_at          timestamptz
);
CREATE INDEX objection_deadlines_due ON objection_deadlines (lapses_at) WHERE settled_at IS NULL;
INSERT INTO objection_deadlines (objection_number, registration_number, lapses_at)
SELECT number, registration_number, (convert_from(record, 'UTF8')::jsonb #>> '{data,lapses_at}')::timestamptz
FROM events WHERE type = 'objection';

-- History is append-only in the database itself: not even a bug in the
-- service can rewrite an event, a stored search, an audit entry or the log.
-- +goose StatementBegin
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER searches_append_only BEFORE UPDATE OR DELETE ON searches FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER searches_no_truncate BEFORE TRUNCATE ON searches FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER log_hashes_append_only BEFORE UPDATE OR DELETE ON log_hashes FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER log_hashes_no_truncate BEFORE TRUNCATE ON log_hashes FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- +goose Down
DROP TRIGGER checkpoints_no_truncate ON checkpoints;
DROP TRIGGER checkpoints_append_only ON checkpoints;
DROP TRIGGER log_hashes_no_truncate ON log_hashes;
DROP TRIGGER log_hashes_append_only ON log_hashes;
DROP TRIGGER audit_entries_no_truncate ON audit_entries;
DROP TRIGGER audit_entries_append_only ON audit_entries;
DROP TRIGGER searches_no_truncate ON searches;
DROP TRIGGER searches_append_only ON searches;
DROP TRIGGER events_no_truncate ON events;
DROP TRIGGER events_append_only ON events;
DROP FUNCTION refuse_change();
DROP TABLE objection_deadlines;
DROP INDEX registrations_expiry_due;
ALTER TABLE registrations DROP COLUMN expiry_recorded_at;
DROP INDEX audit_entries_action, audit_entries_target, audit_entries_organization, audit_entries_user;
SELECT setval('audit_entries_id_seq', GREATEST((SELECT MAX(id) FROM audit_entries), 1));
ALTER TABLE audit_entries
    ALTER COLUMN id SET DEFAULT nextval('audit_entries_id_seq'),
    DROP COLUMN chain;
DROP TABLE audit_head, checkpoints, log_hashes;
