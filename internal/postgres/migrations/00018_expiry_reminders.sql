-- +goose Up
-- Expiry reminders: a notice to a registration's controller some days
-- before it expires. They are stored as notices of kind
-- expiry_reminder_<days>, named by the registration's latest event (the
-- one that set its expiry), so that the unique index of notices keeps one
-- for each expiry and number of days; the API shows them as
-- expiry_reminder with the days and the expiry in their detail. (The index
-- is left as older versions infer it in their inserts.)
ALTER TABLE notifications ADD COLUMN days_before smallint, ADD COLUMN expires_at timestamptz;

-- How far each number of days has been reminded: every registration whose
-- reminder instant (its expiry less the days) is at or before through has
-- had its reminder, unless it was filed or extended after that instant.
CREATE TABLE reminder_marks (
    days_before smallint PRIMARY KEY,
    through     timestamptz NOT NULL
);

-- +goose Down
DROP TABLE reminder_marks;
DELETE FROM notifications WHERE days_before IS NOT NULL;
ALTER TABLE notifications DROP COLUMN days_before, DROP COLUMN expires_at;
