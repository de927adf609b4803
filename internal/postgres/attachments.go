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
