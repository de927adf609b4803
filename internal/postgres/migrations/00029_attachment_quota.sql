-- +goose Up
-- Which uploads a filing or an amendment names: those are the register's and
-- kept for ever; the others are removed after attachments.unnamed_retention.
-- Each organization's attachments count against attachments.max_bytes.
ALTER TABLE attachments ADD COLUMN named boolean NOT NULL DEFAULT false;
-- The uploads already named, read off the events that name them (one pass
-- over the events, and none when nothing was ever uploaded).
UPDATE attachments SET named = true WHERE id IN (
    SELECT DISTINCT (a #>> '{}')::uuid
    FROM events e,
         jsonb_path_query(convert_from(e.record, 'UTF8')::jsonb,
                          'lax $.**.attachments[*].id') AS a
    WHERE EXISTS (SELECT 1 FROM attachments)
    UNION
    SELECT DISTINCT (a #>> '{}')::uuid
    FROM events e,
         jsonb_path_query(convert_from(e.record, 'UTF8')::jsonb,
                          'lax $.**.add_attachments[*].id') AS a
    WHERE EXISTS (SELECT 1 FROM attachments));
CREATE INDEX attachments_organization ON attachments (organization_id);
CREATE INDEX attachments_unnamed ON attachments (created_at) WHERE NOT named;

-- +goose Down
DROP INDEX attachments_unnamed;
DROP INDEX attachments_organization;
ALTER TABLE attachments DROP COLUMN named;
