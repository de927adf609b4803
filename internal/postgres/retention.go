package postgres

import (
	"context"
	"encoding/json"
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

// SearchesShowing finds, locked, the stored searches whose answer or a kept
// page of it shows registration number naming an individual
// (registry.RetentionStore): each with its answer, and the pages that show
// it.
func (s *Store) SearchesShowing(ctx context.Context, number string) ([]registry.ShownSearch, error) {
	db := s.q(ctx)
	var found []struct {
		Number string
		Body   []byte
	}
	err := db.Raw(`SELECT number, body FROM searches WHERE number IN (
			SELECT number FROM searches WHERE individuals @> ARRAY[?]::text[]
			UNION SELECT number FROM search_pages WHERE individuals @> ARRAY[?]::text[])
		ORDER BY number FOR UPDATE`, number, number).Scan(&found).Error
	if err != nil || len(found) == 0 {
		return nil, translate(err)
	}
	var pages []struct {
		Number string
		Cursor int
		Body   []byte
	}
	err = db.Raw(`SELECT number, cursor, body FROM search_pages WHERE individuals @> ARRAY[?]::text[] ORDER BY number, cursor FOR UPDATE`,
		number).Scan(&pages).Error
	if err != nil {
		return nil, translate(err)
	}
	out := make([]registry.ShownSearch, len(found))
	at := make(map[string]int, len(found))
	for i, f := range found {
		out[i], at[f.Number] = registry.ShownSearch{Number: f.Number, Body: f.Body}, i
	}
	for _, p := range pages {
		if i, ok := at[p.Number]; ok {
			out[i].Pages = append(out[i].Pages, registry.ShownPage{Cursor: p.Cursor, Body: p.Body})
		}
	}
	return out, nil
}

// EraseSearch stores a search's pages, and its answer and criteria unless
// e.Body is nil, as erased at at, keeping the digest its certificate was
// issued with, and deletes the certificates kept for it
// (registry.RetentionStore). The searches'
// trigger refuses any other change.
func (s *Store) EraseSearch(ctx context.Context, e registry.ShownSearch, criteria registry.Criteria, at time.Time) error {
	db := s.q(ctx)
	for _, p := range e.Pages {
		if err := db.Exec(`UPDATE search_pages SET body = ?, erased_at = ? WHERE number = ? AND cursor = ?`,
			bytea(p.Body), at, e.Number, p.Cursor).Error; err != nil {
			return translate(err)
		}
	}
	if e.Body == nil {
		return nil // the answer itself did not show it
	}
	c, err := json.Marshal(criteria)
	if err != nil {
		return err
	}
	res := db.Exec(`UPDATE searches SET body = ?, criteria = ?::jsonb, erased_at = ?,
			issued_digest = COALESCE(issued_digest, 'sha256:' || encode(sha256(body), 'hex'))
		WHERE number = ?`, bytea(e.Body), string(c), at, e.Number)
	if res.Error != nil {
		return translate(res.Error)
	}
	if res.RowsAffected != 1 {
		return registry.ErrConflict
	}
	return translate(db.Exec(`DELETE FROM certificate_documents WHERE number = ?`, e.Number).Error)
}

// IDNumberSearchesBefore lists, in number order after after, up to limit
// stored searches made by an identity number before instant before
// (registry.RetentionStore).
func (s *Store) IDNumberSearchesBefore(ctx context.Context, before time.Time, after string, limit int) ([]string, error) {
	var out []string
	err := s.q(ctx).Raw(`SELECT number FROM searches
		WHERE (criteria->>'id_number') IS NOT NULL AND searched_at < ? AND number > ?
		ORDER BY number LIMIT ?`, before, after, limit).Scan(&out).Error
	return out, translate(err)
}

// LockSearch reads a stored search's answer, locked (registry.RetentionStore).
func (s *Store) LockSearch(ctx context.Context, number string) (registry.ShownSearch, error) {
	var row struct {
		Number string
		Body   []byte
	}
	res := s.q(ctx).Raw("SELECT number, body FROM searches WHERE number = ? FOR UPDATE", number).Scan(&row)
	if res.Error != nil {
		return registry.ShownSearch{}, translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return registry.ShownSearch{}, registry.ErrNotFound
	}
	return registry.ShownSearch{Number: row.Number, Body: row.Body}, nil
}
