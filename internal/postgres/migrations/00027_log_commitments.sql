-- +goose Up
-- The log commits to identity numbers through salted commitments: an event
-- naming an individual keeps, beside its full record, the record the log
-- commits to (log_record, each identity number replaced by a commitment)
-- and the salts that open them (openings). Older events, and events naming
-- no individual, have neither: the log commits to their record.
ALTER TABLE events ADD COLUMN log_record bytea, ADD COLUMN openings jsonb;

-- +goose Down
ALTER TABLE events DROP COLUMN log_record, DROP COLUMN openings;
