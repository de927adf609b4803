-- +goose Up
-- The outbox of notices: a notice is committed with its event; a job then
-- turns the notices not yet enqueued into delivery jobs, in one
-- transaction with their enqueued_at (nothing lost, nothing twice).
-- Notices made before deliveries existed are not delivered.
ALTER TABLE notifications ADD COLUMN enqueued_at timestamptz;
UPDATE notifications SET enqueued_at = created_at;
CREATE INDEX notifications_pending ON notifications (id) WHERE enqueued_at IS NULL;
-- Every attempt to deliver a notice to a webhook.
CREATE TABLE webhook_deliveries (
    id              bigserial PRIMARY KEY,
    webhook_id      uuid NOT NULL,
    notification_id bigint NOT NULL,
    attempt         integer NOT NULL,
    at              timestamptz NOT NULL,
    status_code     integer,
    error           text NOT NULL DEFAULT ''
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP INDEX notifications_pending;
ALTER TABLE notifications DROP COLUMN enqueued_at;
