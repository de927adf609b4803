package postgres

import (
	"context"
	"time"

	"github.com/movable-registry/registry/internal/registry"
)

// InsertAttachment stores an uploaded file.
func (s *Store) InsertAttachment(ctx context.Context, a registry.StoredAttachment) error {
	return translate(s.w(ctx).Exec(`INSERT INTO attachments (id, organization_id, sha256, media_type, size, data, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, a.ID, a.OrganizationID, a.SHA256, a.MediaType, a.Size, bytea(a.Data), a.CreatedAt).Error)
}

// Attachment returns an uploaded file with its bytes.
func (s *Store) Attachment(ctx context.Context, id string) (registry.StoredAttachment, error) {
	var rows []struct {
		ID             string
		OrganizationID string
		SHA256         string `gorm:"column:sha256"`
		MediaType      string
		Size           int
		Data           []byte
		CreatedAt      time.Time
	}
	if err := s.q(ctx).Raw("SELECT id, organization_id, sha256, media_type, size, data, created_at FROM attachments WHERE id = ?", id).Scan(&rows).Error; err != nil {
		return registry.StoredAttachment{}, translate(err)
	}
	if len(rows) == 0 {
		return registry.StoredAttachment{}, registry.ErrNotFound
	}
	r := rows[0]
	return registry.StoredAttachment{Attachment: registry.Attachment{ID: r.ID, SHA256: r.SHA256, MediaType: r.MediaType, Size: r.Size},
		OrganizationID: r.OrganizationID, Data: r.Data, CreatedAt: r.CreatedAt}, nil
}

// attachmentsLockClass is the first key of the advisory locks that hold one
// organization's attachments (the second is its id's hash): the two-key
// space is apart from Exclusive's one-key locks.
const attachmentsLockClass = 25

// LockAttachments holds the organization's attachments until the
// transaction ends, so that two uploads at once cannot both fit in the room
// only one of them fits in, and returns the bytes they hold.
func (s *Store) LockAttachments(ctx context.Context, organizationID string) (int64, error) {
	if err := s.w(ctx).Exec("SELECT pg_advisory_xact_lock(?, hashtext(?))", attachmentsLockClass, organizationID).Error; err != nil {
		return 0, translate(err)
	}
	var held int64
	err := s.q(ctx).Raw("SELECT coalesce(sum(size), 0) FROM attachments WHERE organization_id = ?", organizationID).Scan(&held).Error
	return held, translate(err)
}

// NameAttachment records that a filing or amendment names the attachment,
// which is then never removed; ErrNotFound when it was removed meanwhile.
// The update locks the row, so a removal that has not yet committed waits
// for this transaction and then leaves the attachment alone.
func (s *Store) NameAttachment(ctx context.Context, id string) error {
	res := s.w(ctx).Exec("UPDATE attachments SET named = true WHERE id = ?", id)
	if res.Error != nil {
		return translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return registry.ErrNotFound
	}
	return nil
}

// DeleteUnnamedAttachments deletes up to limit attachments uploaded before
// before that no filing or amendment names.
func (s *Store) DeleteUnnamedAttachments(ctx context.Context, before time.Time, limit int) (int, error) {
	res := s.w(ctx).Exec(`DELETE FROM attachments WHERE id IN (
		SELECT id FROM attachments WHERE NOT named AND created_at < ? ORDER BY created_at LIMIT ? FOR UPDATE SKIP LOCKED)
		AND NOT named`, before, limit)
	return int(res.RowsAffected), translate(res.Error)
}
