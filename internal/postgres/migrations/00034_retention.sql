-- +goose Up
-- Retention: when a registration has ended longer ago than the register
-- keeps individuals' personal data, the data is erased from its events'
-- full records and openings, from the search index and from its kept
-- certificates. erased_at says when, on the registration and on each of
-- its events; the partial index finds those due.
ALTER TABLE registrations ADD COLUMN erased_at timestamptz;
ALTER TABLE events ADD COLUMN erased_at timestamptz;
CREATE INDEX registrations_erasure_due ON registrations (LEAST(expires_at, COALESCE(ended_at, expires_at))) WHERE erased_at IS NULL;

-- Events stay append-only but for the erasure: once, setting erased_at,
-- and never changing what the log commits to (the leaf: log_record, or the
-- record when there is none) nor the columns the event is filed under.
-- +goose StatementBegin
CREATE FUNCTION events_erasure_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL
        AND NEW.log_index = OLD.log_index AND NEW.number = OLD.number
        AND NEW.registration_number = OLD.registration_number AND NEW.type = OLD.type
        AND NEW.registered_at = OLD.registered_at
        AND NEW.organization_id IS NOT DISTINCT FROM OLD.organization_id
        AND NEW.user_id IS NOT DISTINCT FROM OLD.user_id
        AND NEW.log_record IS NOT NULL
        AND NEW.log_record = COALESCE(OLD.log_record, OLD.record) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only (but for an erasure of personal data, which keeps the leaf): % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd
DROP TRIGGER events_append_only ON events;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION events_erasure_only();

-- +goose Down
DROP TRIGGER events_append_only ON events;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION refuse_change();
DROP FUNCTION events_erasure_only();
DROP INDEX registrations_erasure_due;
ALTER TABLE events DROP COLUMN erased_at;
ALTER TABLE registrations DROP COLUMN erased_at;
