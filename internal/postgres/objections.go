package postgres

import (
	"context"
	"time"

	"github.com/movable-registry/registry/internal/registry"
)

// InsertObjectionDeadline notes when an objection lapses unless settled.
func (s *Store) InsertObjectionDeadline(ctx context.Context, objection, registration string, lapsesAt time.Time) error {
	return translate(s.w(ctx).Exec("INSERT INTO objection_deadlines (objection_number, registration_number, lapses_at) VALUES (?, ?, ?)",
		objection, registration, lapsesAt).Error)
}

// InsertNotification stores something an organization must be told.
func (s *Store) InsertNotification(ctx context.Context, n registry.Notification) error {
	if s.buf != nil {
		s.buf.notifications = append(s.buf.notifications, n)
		return nil
	}
	return translate(s.w(ctx).Exec(`INSERT INTO notifications (organization_id, registration_number, event_number, kind, created_at)
		VALUES (?, ?, ?, ?, ?)`, nullable(n.OrganizationID), n.RegistrationNumber, n.EventNumber, n.Kind, n.At).Error)
}
