package postgres

import (
	"context"
	"database/sql"
	"time"

	"github.com/movable-registry/registry/internal/registry"
)

// DueDeadlines lists what the clock has ended and no event records yet:
// registrations past expiry and objections past their lapse, oldest first.
func (s *Store) DueDeadlines(ctx context.Context, now time.Time, limit int) ([]registry.Deadline, error) {
	var out []registry.Deadline
	err := s.q(ctx).Raw(`(SELECT number AS registration_number, '' AS objection, expires_at AS due FROM registrations
			WHERE status = 'effective' AND expiry_recorded_at IS NULL AND expires_at <= @now ORDER BY expires_at LIMIT @limit)
		UNION ALL
		(SELECT registration_number, objection_number, lapses_at FROM objection_deadlines
			WHERE settled_at IS NULL AND lapses_at <= @now ORDER BY lapses_at LIMIT @limit)
		ORDER BY due LIMIT @limit`, sql.Named("now", now), sql.Named("limit", limit)).Scan(&out).Error
	return out, translate(err)
}

// SettleDeadline marks a deadline as dealt with: its event is recorded, or
// the registration or objection ended otherwise.
func (s *Store) SettleDeadline(ctx context.Context, d registry.Deadline, at time.Time) error {
	if d.Objection == "" {
		return translate(s.w(ctx).Exec("UPDATE registrations SET expiry_recorded_at = ? WHERE number = ?", at, d.RegistrationNumber).Error)
	}
	return translate(s.w(ctx).Exec("UPDATE objection_deadlines SET settled_at = ? WHERE objection_number = ?", at, d.Objection).Error)
}
