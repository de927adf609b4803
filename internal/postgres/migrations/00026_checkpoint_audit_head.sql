-- +goose Up
-- Each checkpoint also commits to the audit trail's head (an extension line
-- of its note), so a checkpoint is signed when either the log or the trail
-- moved: there may be several of one log size.
ALTER TABLE checkpoints ADD COLUMN audit_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE checkpoints DROP CONSTRAINT checkpoints_pkey;
ALTER TABLE checkpoints ADD PRIMARY KEY (size, audit_seq);

-- +goose Down
DELETE FROM checkpoints c WHERE EXISTS (SELECT 1 FROM checkpoints d WHERE d.size = c.size AND d.audit_seq > c.audit_seq);
ALTER TABLE checkpoints DROP CONSTRAINT checkpoints_pkey;
ALTER TABLE checkpoints ADD PRIMARY KEY (size);
ALTER TABLE checkpoints DROP COLUMN audit_seq;
