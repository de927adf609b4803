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
	if s.buf == nil {
		return s.alone(ctx, func(tx *Store) error { return tx.InsertNotification(ctx, n) })
	}
	s.buf.notifications = append(s.buf.notifications, n)
	return nil
}
