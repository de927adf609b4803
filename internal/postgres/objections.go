package postgres

import (
	"context"
	"time"
)

// InsertObjectionDeadline notes when an objection lapses unless settled.
func (s *Store) InsertObjectionDeadline(ctx context.Context, objection, registration string, lapsesAt time.Time) error {
	return translate(s.w(ctx).Exec("INSERT INTO objection_deadlines (objection_number, registration_number, lapses_at) VALUES (?, ?, ?)",
		objection, registration, lapsesAt).Error)
}
