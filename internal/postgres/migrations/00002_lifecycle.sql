-- +goose Up
-- A registration's content is derived from its events by replaying them; the
-- registrations row keeps only what writes lock and lists filter by.
ALTER TABLE registrations
    DROP COLUMN description,
    DROP COLUMN max_amount,
    DROP COLUMN currency,
    DROP COLUMN reference,
    DROP COLUMN period_months,
    -- An assignee without an account is controller by its USCC alone.
    ALTER COLUMN controller_id DROP NOT NULL;
CREATE INDEX registrations_controller_number ON registrations (controller_id, number);
DROP INDEX registrations_controller;

-- Former names of renamed grantors are index rows of their own
-- (role 'former_grantor'), found by name searches as matched_by former_name.
CREATE INDEX parties_former_name ON parties (name_key) WHERE role = 'former_grantor' AND type = 'organization';
CREATE INDEX parties_open ON parties (registration_number) WHERE removed_at IS NULL;

-- What the controller must be told (an objection, at once); delivered by a
-- later part of the system.
CREATE TABLE notifications (
    id                  bigserial PRIMARY KEY,
    organization_id     uuid,
    registration_number text NOT NULL,
    event_number        text NOT NULL,
    kind                text NOT NULL,
    created_at          timestamptz NOT NULL,
    delivered_at        timestamptz
);
CREATE INDEX notifications_undelivered ON notifications (organization_id, id) WHERE delivered_at IS NULL;

-- Idempotency keys: the first answer to a creating request, sealed with a key
-- derived from the client's Idempotency-Key, which is stored only as a hash.
CREATE TABLE idempotency_keys (
    id          bytea PRIMARY KEY,
    fingerprint bytea NOT NULL,
    response    bytea,
    created_at  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE idempotency_keys, notifications;
DROP INDEX parties_open, parties_former_name, registrations_controller_number;
CREATE INDEX registrations_controller ON registrations (controller_id, registered_at);
ALTER TABLE registrations
    ALTER COLUMN controller_id SET NOT NULL,
    ADD COLUMN description text NOT NULL DEFAULT '',
    ADD COLUMN max_amount numeric(20, 2),
    ADD COLUMN currency text,
    ADD COLUMN reference text NOT NULL DEFAULT '',
    ADD COLUMN period_months integer NOT NULL DEFAULT 0;
