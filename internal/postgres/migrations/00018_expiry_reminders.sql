-- +goose Up
-- Expiry reminders: a notice to a registration's controller some days
-- before it expires, once for each expiry and number of days. They have no
-- event of their own, so they are kept once by registration, expiry and
-- days instead of by event, recipient and kind.
ALTER TABLE notifications ADD COLUMN days_before smallint, ADD COLUMN expires_at timestamptz;
DROP INDEX notifications_once;
CREATE UNIQUE INDEX notifications_once ON notifications (event_number, organization_id, kind) WHERE days_before IS NULL;
CREATE UNIQUE INDEX notifications_reminder_once ON notifications (registration_number, expires_at, days_before) WHERE days_before IS NOT NULL;

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
DROP INDEX notifications_reminder_once;
DROP INDEX notifications_once;
CREATE UNIQUE INDEX notifications_once ON notifications (event_number, organization_id, kind);
ALTER TABLE notifications DROP COLUMN days_before, DROP COLUMN expires_at;
