-- +goose Up
-- Idempotency keys expire (idempotency.retention); a job purges the oldest
-- first, by this index.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
DROP INDEX idempotency_keys_created;
