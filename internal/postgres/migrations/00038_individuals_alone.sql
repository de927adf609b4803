-- +goose Up
-- An individual's account is the person alone. Before this release the
-- pages let the person add users to it, who saw the identity number whole:
-- every user of an individual's account but the first (the one who signed
-- it up) is suspended, and their tokens revoked. They stay on record, as
-- every user does; an admin sees them suspended.
UPDATE users u SET suspended_at = now()
FROM organizations o
WHERE o.id = u.organization_id AND o.kind = 'individual' AND u.suspended_at IS NULL
  AND u.id <> (SELECT f.id FROM users f WHERE f.organization_id = o.id ORDER BY f.created_at, f.id LIMIT 1);
UPDATE tokens t SET revoked_at = now()
FROM users u JOIN organizations o ON o.id = u.organization_id
WHERE t.user_id = u.id AND o.kind = 'individual' AND u.suspended_at IS NOT NULL AND t.revoked_at IS NULL;

-- +goose Down
-- Nothing is undone: which users were suspended here is not told apart
-- from those suspended by an admin.
SELECT 1;
