package postgres

import (
	"context"
	"database/sql"
	"time"

	"github.com/movable-registry/registry/internal/registry"
)

type eventRow struct {
	LogIndex           int64
	Number             string
	RegistrationNumber string
	Type               string
	RegisteredAt       time.Time
	OrganizationID     *string
	UserID             *string
	Record             []byte
	// LogRecord and Openings are set for an event whose log record holds
	// commitments to identity numbers (Openings as JSON).
	LogRecord []byte
	Openings  []byte
	// ErasedAt is when its individuals' personal data was erased.
	ErasedAt *time.Time
}

// InsertEvent appends a registry event and its hashes in the log, in one
// statement (or, inside a batch, with the batch's).
func (s *Store) InsertEvent(ctx context.Context, e registry.EventRecord) error {
	if s.buf == nil {
		return s.alone(ctx, func(tx *Store) error { return tx.InsertEvent(ctx, e) })
	}
	first, hashes, err := s.newHashes(ctx, e.LogIndex, e.Leaf())
	if err != nil {
		return err
	}
	s.bufferEvent(e)
	for i, h := range hashes {
		s.buf.hashIDs, s.buf.hashes = append(s.buf.hashIDs, first+int64(i)), append(s.buf.hashes, h[:])
	}
	return nil
}

type registrationRow struct {
	Number               string
	Kind                 string
	RegisteredAt         time.Time
	ExpiresAt            time.Time
	ControllerID         *string
	ControllerUSCC       string `gorm:"column:controller_uscc"`
	Status               string
	EndedAt              *time.Time
	ModificationCodeHash []byte
}

type partyRow struct {
	RegistrationNumber string
	Role               string
	Ord                int
	Type               string
	Name               string
	NameKey            string
	USCC               *string `gorm:"column:uscc"`
	Country            *string
	RegistrationNo     *string
	LEI                *string `gorm:"column:lei"`
	IDNumber           *string `gorm:"column:id_number"`
	Address            *string
	AddedAt            time.Time
}

type itemRow struct {
	ID                 string
	RegistrationNumber string
	Ord                int
	Type               string
	SerialNumber       string
	SerialKey          string
	Description        string
	RegisteredAt       time.Time
}

const (
	matchCurrentName  = registry.MatchCurrentName
	matchFormerName   = registry.MatchFormerName
	matchUSCC         = registry.MatchUSCC
	matchLEI          = registry.MatchLEI
	matchIDNumber     = registry.MatchIDNumber
	matchRegistration = registry.MatchRegistrationNumber
	matchSerial       = registry.MatchSerialNumber
)

// InsertRegistration stores a new registration's current-state row.
func (s *Store) InsertRegistration(ctx context.Context, h registry.RegistrationHead, modificationCodeHash []byte) error {
	if s.buf == nil {
		return s.alone(ctx, func(tx *Store) error { return tx.InsertRegistration(ctx, h, modificationCodeHash) })
	}
	row := headRowOf(h)
	row.ModificationCodeHash = modificationCodeHash
	s.buf.registrations = append(s.buf.registrations, row)
	return nil
}

func headRowOf(h registry.RegistrationHead) registrationRow {
	return registrationRow{Number: h.Number, Kind: h.Kind, RegisteredAt: h.RegisteredAt, ExpiresAt: h.ExpiresAt,
		ControllerID: strPtr(h.ControllerID), ControllerUSCC: h.ControllerUSCC, Status: h.Status, EndedAt: h.EndedAt}
}

// UpdateRegistration rewrites a registration's current-state row.
func (s *Store) UpdateRegistration(ctx context.Context, h registry.RegistrationHead) error {
	if s.buf == nil {
		return s.alone(ctx, func(tx *Store) error { return tx.UpdateRegistration(ctx, h) })
	}
	s.buf.updates = append(s.buf.updates, headRowOf(h))
	return nil
}

// SetModificationCode replaces the hash of a registration's modification code.
func (s *Store) SetModificationCode(ctx context.Context, number string, hash []byte) error {
	if s.buf == nil {
		return s.alone(ctx, func(tx *Store) error { return tx.SetModificationCode(ctx, number, hash) })
	}
	s.buf.codes = append(s.buf.codes, registrationRow{Number: number, ModificationCodeHash: hash})
	return nil
}

// IndexParties ends the registration's open party rows at at and inserts
// these in their place. An unchanged party's row ends and restarts at the
// same instant, so searches as of any instant see it without a gap.
func (s *Store) IndexParties(ctx context.Context, number string, at time.Time, parties []registry.IndexedParty) error {
	if s.buf == nil {
		return s.alone(ctx, func(tx *Store) error { return tx.IndexParties(ctx, number, at, parties) })
	}
	s.bufferParties(number, at, parties)
	return nil
}

// InsertItems adds collateral items to the index, each with its own priority time.
func (s *Store) InsertItems(ctx context.Context, number string, items []registry.Item) error {
	if s.buf == nil {
		return s.alone(ctx, func(tx *Store) error { return tx.InsertItems(ctx, number, items) })
	}
	s.buf.items = append(s.buf.items, itemRows(number, items)...)
	return nil
}

// RemoveItems ends items' index rows at at.
func (s *Store) RemoveItems(ctx context.Context, number string, ids []string, at time.Time) error {
	if s.buf == nil {
		return s.alone(ctx, func(tx *Store) error { return tx.RemoveItems(ctx, number, ids, at) })
	}
	for _, id := range ids {
		s.buf.itemEnds = append(s.buf.itemEnds, rowEnd{Number: number, ID: id, At: at})
	}
	return nil
}

// eventsSQL finds events by their registrations' index; the instant only
// filters them (see findSQL).
const eventsSQL = `SELECT log_index, number, registration_number, type, registered_at, organization_id, user_id, record, erased_at
		FROM events WHERE registration_number = ANY(?::text[]) AND registered_at + interval '0' <= ? ORDER BY log_index`

// Events returns the events of the given registrations registered at or
// before asOf, in log order.
func (s *Store) Events(ctx context.Context, registrationNumbers []string, asOf time.Time) ([]registry.EventRecord, error) {
	return readOn(s, ctx, -1, func(v *Store) ([]registry.EventRecord, error) { return v.events(ctx, registrationNumbers, asOf) })
}

// events is Events on s.
func (s *Store) events(ctx context.Context, registrationNumbers []string, asOf time.Time) ([]registry.EventRecord, error) {
	rows, err := s.q(ctx).Raw(eventsSQL, textArray(registrationNumbers), asOf).Rows()
	if err != nil {
		return nil, translate(err)
	}
	out, err := scanEvents(rows, false)
	return out, translate(err)
}

// scanEvents reads events from rows of eventsSQL's columns (then, with
// leaf, log_record and openings; erased_at last) and closes them. It scans each column
// into its field itself: gorm's reflection cost more than the query when
// a verifier reads a register of millions.
func scanEvents(rows *sql.Rows, leaf bool) ([]registry.EventRecord, error) {
	defer rows.Close()
	var out []registry.EventRecord
	for rows.Next() {
		var r eventRow
		dest := []any{&r.LogIndex, &r.Number, &r.RegistrationNumber, &r.Type, &r.RegisteredAt, &r.OrganizationID, &r.UserID, &r.Record}
		if leaf {
			dest = append(dest, &r.LogRecord, &r.Openings)
		}
		dest = append(dest, &r.ErasedAt)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		out = append(out, r.toDomain())
	}
	return out, rows.Err()
}

// ListRegistrations returns one page of an organization's registration
// numbers in registration order, filtered by status at f.Now.
func (s *Store) ListRegistrations(ctx context.Context, f registry.ListFilter) ([]string, error) {
	return readOn(s, ctx, -1, func(v *Store) ([]string, error) { return v.listRegistrations(ctx, f) })
}

// listRegistrations is ListRegistrations on s.
func (s *Store) listRegistrations(ctx context.Context, f registry.ListFilter) ([]string, error) {
	q := s.q(ctx).Table("registrations").Select("number").Where("controller_id = ?", f.ControllerID)
	switch f.Status {
	case registry.StatusEffective:
		q = q.Where("status = ? AND expires_at > ?", registry.StatusEffective, f.Now)
	case registry.StatusExpired:
		q = q.Where("status = ? AND expires_at <= ?", registry.StatusEffective, f.Now)
	case registry.StatusCancelled, registry.StatusRevoked:
		q = q.Where("status = ?", f.Status)
	}
	if f.After != "" {
		q = q.Where("number > ?", f.After)
	}
	var numbers []string
	err := q.Order("number").Limit(f.Limit).Scan(&numbers).Error
	return numbers, translate(err)
}

// RegistrationNumberOf finds the registration that an event number belongs to.
func (s *Store) RegistrationNumberOf(ctx context.Context, anyNumber string) (string, error) {
	return readOn(s, ctx, -1, func(v *Store) (string, error) { return v.registrationNumberOf(ctx, anyNumber) })
}

// registrationNumberOf is RegistrationNumberOf on s.
func (s *Store) registrationNumberOf(ctx context.Context, anyNumber string) (string, error) {
	var n string
	res := s.q(ctx).Raw("SELECT registration_number FROM events WHERE number = ?", anyNumber).Scan(&n)
	if res.Error == nil && res.RowsAffected == 0 {
		return "", registry.ErrNotFound
	}
	return n, translate(res.Error)
}

// LockRegistration finds the registration that anyNumber belongs to and
// locks it until the transaction ends.
func (s *Store) LockRegistration(ctx context.Context, anyNumber string) (registry.RegistrationState, error) {
	var row registrationRow
	res := s.q(ctx).Raw(`
		SELECT number, modification_code_hash FROM registrations
		WHERE number = (SELECT registration_number FROM events WHERE number = ?) FOR UPDATE`, anyNumber).Scan(&row)
	if res.Error != nil {
		return registry.RegistrationState{}, translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return registry.RegistrationState{}, registry.ErrNotFound
	}
	return registry.RegistrationState{Number: row.Number, ModificationCodeHash: row.ModificationCodeHash}, nil
}

// RegistrationNumbersAfter lists up to limit registration numbers after
// after, in order.
func (s *Store) RegistrationNumbersAfter(ctx context.Context, after string, limit int) ([]string, error) {
	var out []string
	err := s.q(ctx).Raw("SELECT number FROM registrations WHERE number > ? ORDER BY number LIMIT ?", after, limit).Scan(&out).Error
	return out, translate(err)
}
