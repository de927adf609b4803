package postgres

import (
	"context"
	"time"

	"github.com/movable-registry/registry/internal/registry"
)

// EndedBefore lists the registrations, not yet erased, that ended before
// before (registry.RetentionStore).
func (s *Store) EndedBefore(ctx context.Context, before time.Time, after string, limit int) ([]string, error) {
	var out []string
	err := s.q(ctx).Raw(`SELECT number FROM registrations
		WHERE erased_at IS NULL AND LEAST(expires_at, COALESCE(ended_at, expires_at)) < ? AND number > ?
		ORDER BY number LIMIT ?`, before, after, limit).Scan(&out).Error
	return out, translate(err)
}

// EraseRegistration stores a registration's events as erased, and erases
// its individuals from the search index and its kept certificates
// (registry.RetentionStore). The leaf each event's log record held is kept
// in log_record: the events' trigger refuses any other change.
func (s *Store) EraseRegistration(ctx context.Context, number string, events []registry.EventRecord, at time.Time) error {
	db := s.q(ctx)
	for _, e := range events {
		// The digest its certificates were issued with is kept (SET reads
		// the record as it was): its number still verifies what they print.
		res := db.Exec(`UPDATE events SET log_record = COALESCE(log_record, record), record = ?, openings = NULL, erased_at = ?,
				issued_digest = 'sha256:' || encode(sha256(record), 'hex')
			WHERE log_index = ? AND registration_number = ? AND erased_at IS NULL`, bytea(e.Record), at, e.LogIndex, number)
		if res.Error != nil {
			return translate(res.Error)
		}
		if res.RowsAffected != 1 {
			return registry.ErrConflict
		}
	}
	if err := db.Exec(`UPDATE parties SET name = '', name_key = '', id_number = NULL, address = NULL
		WHERE registration_number = ? AND type = 'individual'`, number).Error; err != nil {
		return translate(err)
	}
	if err := db.Exec(`UPDATE registrations SET erased_at = ? WHERE number = ?`, at, number).Error; err != nil {
		return translate(err)
	}
	return translate(db.Exec(`DELETE FROM certificate_documents WHERE number = ?`, number).Error)
}
