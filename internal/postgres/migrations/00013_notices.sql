-- +goose Up
-- Notices an organization reads: when it read each, once for one event,
-- recipient and kind, newest first by organization. Earlier rows were
-- named by their event's type; they take the kinds the API names.
ALTER TABLE notifications ADD COLUMN read_at timestamptz, ADD COLUMN event_type text;
UPDATE notifications SET event_type = kind,
    kind = CASE WHEN kind LIKE 'objection%' THEN 'objection' ELSE 'registration_changed' END;
DELETE FROM notifications a USING notifications b
    WHERE a.id > b.id AND a.event_number = b.event_number AND a.organization_id = b.organization_id AND a.kind = b.kind;
CREATE UNIQUE INDEX notifications_once ON notifications (event_number, organization_id, kind);
CREATE INDEX notifications_inbox ON notifications (organization_id, id DESC);

-- +goose Down
DROP INDEX notifications_inbox;
DROP INDEX notifications_once;
UPDATE notifications SET kind = COALESCE(event_type, kind);
ALTER TABLE notifications DROP COLUMN read_at, DROP COLUMN event_type;
