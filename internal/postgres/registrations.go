package postgres

import (
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/movable-registry/registry/internal/identity"
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
}

// InsertEvent appends a registry event.
func (s *Store) InsertEvent(ctx context.Context, e registry.EventRecord) error {
	row := eventRow{LogIndex: e.LogIndex, Number: e.Number, RegistrationNumber: e.RegistrationNumber, Type: e.Type,
		RegisteredAt: e.At, OrganizationID: strPtr(e.OrganizationID), UserID: strPtr(e.UserID), Record: e.Record}
	return translate(s.db.WithContext(ctx).Table("events").Create(&row).Error)
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

type registrationRow struct {
	Number               string
	Kind                 string
	RegisteredAt         time.Time
	ExpiresAt            time.Time
	PeriodMonths         int
	Description          string
	MaxAmount            *string
	Currency             *string
	Reference            string
	ControllerID         string
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

func (r partyRow) toDomain() registry.Party {
	return registry.Party{Type: r.Type, Name: r.Name, USCC: deref(r.USCC), Country: deref(r.Country),
		RegistrationNumber: deref(r.RegistrationNo), LEI: deref(r.LEI), IDNumber: deref(r.IDNumber), Address: deref(r.Address)}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
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
	roleGrantor       = "grantor"
	roleSecuredParty  = "secured_party"
	matchCurrentName  = "current_name"
	matchUSCC         = "uscc"
	matchLEI          = "lei"
	matchIDNumber     = "id_number"
	matchRegistration = "registration_number"
	matchSerial       = "serial_number"
)

func partyRows(number, role string, at time.Time, parties []registry.Party) []partyRow {
	rows := make([]partyRow, len(parties))
	for i, p := range parties {
		key := ""
		if p.Type == "organization" {
			key = identity.Normalize(p.Name).Key
		}
		rows[i] = partyRow{RegistrationNumber: number, Role: role, Ord: i, Type: p.Type, Name: p.Name, NameKey: key,
			USCC: strPtr(p.USCC), Country: strPtr(p.Country), RegistrationNo: strPtr(p.RegistrationNumber),
			LEI: strPtr(p.LEI), IDNumber: strPtr(p.IDNumber), Address: strPtr(p.Address), AddedAt: at}
	}
	return rows
}

// InsertRegistration stores a new registration's state: the row, its parties
// and its items.
func (s *Store) InsertRegistration(ctx context.Context, r *registry.Registration, modificationCodeHash []byte) error {
	db := s.db.WithContext(ctx)
	row := registrationRow{Number: r.Number, Kind: r.Kind, RegisteredAt: r.RegisteredAt, ExpiresAt: r.ExpiresAt,
		PeriodMonths: r.PeriodMonths, Description: r.Collateral.Description, Reference: r.Reference,
		ControllerID: r.Controller.OrganizationID, ControllerUSCC: r.Controller.USCC, Status: registry.StatusEffective,
		ModificationCodeHash: modificationCodeHash}
	if m := r.MaxSecuredAmount; m != nil {
		row.MaxAmount, row.Currency = &m.Amount, &m.Currency
	}
	if err := db.Table("registrations").Create(&row).Error; err != nil {
		return translate(err)
	}
	parties := append(partyRows(r.Number, roleGrantor, r.RegisteredAt, r.Grantors),
		partyRows(r.Number, roleSecuredParty, r.RegisteredAt, r.SecuredParties)...)
	if err := db.Table("parties").CreateInBatches(&parties, 500).Error; err != nil {
		return translate(err)
	}
	for _, p := range parties {
		if p.Role == roleGrantor && p.NameKey != "" {
			if err := db.Exec("INSERT INTO grantor_names (name_key, name, first_at) VALUES (?, ?, ?) ON CONFLICT (name_key) DO NOTHING",
				p.NameKey, p.Name, p.AddedAt).Error; err != nil {
				return translate(err)
			}
		}
	}
	if len(r.Collateral.Items) == 0 {
		return nil
	}
	items := make([]itemRow, len(r.Collateral.Items))
	for i, it := range r.Collateral.Items {
		items[i] = itemRow{ID: it.ID, RegistrationNumber: r.Number, Ord: i, Type: it.Type, SerialNumber: it.SerialNumber,
			SerialKey: identity.SerialKey(it.SerialNumber), Description: it.Description, RegisteredAt: it.RegisteredAt}
	}
	return translate(db.Table("items").CreateInBatches(&items, 500).Error)
}

// RegistrationNumberOf finds the registration that an event number belongs to.
func (s *Store) RegistrationNumberOf(ctx context.Context, anyNumber string) (string, error) {
	var n string
	res := s.db.WithContext(ctx).Raw("SELECT registration_number FROM events WHERE number = ?", anyNumber).Scan(&n)
	if res.Error == nil && res.RowsAffected == 0 {
		return "", registry.ErrNotFound
	}
	return n, translate(res.Error)
}

// LockRegistration reads what a change needs to know about the registration
// that anyNumber belongs to, and locks it until the transaction ends.
func (s *Store) LockRegistration(ctx context.Context, anyNumber string) (registry.RegistrationState, error) {
	var row registrationRow
	res := s.db.WithContext(ctx).Raw(`
		SELECT number, controller_id, status, expires_at, modification_code_hash FROM registrations
		WHERE number = (SELECT registration_number FROM events WHERE number = ?) FOR UPDATE`, anyNumber).Scan(&row)
	if res.Error != nil {
		return registry.RegistrationState{}, translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return registry.RegistrationState{}, registry.ErrNotFound
	}
	return registry.RegistrationState{Number: row.Number, ControllerID: row.ControllerID, StoredStatus: row.Status,
		ExpiresAt: row.ExpiresAt, ModificationCodeHash: row.ModificationCodeHash}, nil
}

// EndRegistration records that a registration ended (cancelled or revoked) at an instant.
func (s *Store) EndRegistration(ctx context.Context, number, status string, at time.Time) error {
	return translate(s.db.WithContext(ctx).Exec(
		"UPDATE registrations SET status = ?, ended_at = ? WHERE number = ?", status, at, number).Error)
}

// textArray is a list bound as one PostgreSQL text[] parameter, so a search
// that finds many registrations stays within the protocol's parameter limit.
type textArray []string

// Value renders the array literal; registry numbers are digits only.
func (a textArray) Value() (driver.Value, error) {
	for _, s := range a {
		if strings.ContainsAny(s, `{}",\ `) {
			return nil, fmt.Errorf("text array element %q needs quoting", s)
		}
	}
	return "{" + strings.Join(a, ",") + "}", nil
}

// Registrations loads registrations as they stood at asOf, in registration
// order, with their parties, items and history. Four queries, whatever the
// number of registrations.
func (s *Store) Registrations(ctx context.Context, numbers []string, asOf time.Time) ([]registry.Registration, error) {
	if len(numbers) == 0 {
		return nil, nil
	}
	db := s.db.WithContext(ctx)
	list := textArray(numbers)
	var rows []registrationRow
	if err := db.Raw(`SELECT number, kind, registered_at, expires_at, period_months, description, max_amount::text AS max_amount,
		currency, reference, controller_id, controller_uscc, status, ended_at FROM registrations
		WHERE number = ANY(?::text[]) AND registered_at <= ? ORDER BY registered_at`, list, asOf).Scan(&rows).Error; err != nil {
		return nil, translate(err)
	}
	var parties []partyRow
	if err := db.Raw(`SELECT registration_number, role, ord, type, name, uscc, country, registration_no, lei, id_number, address
		FROM parties WHERE registration_number = ANY(?::text[]) AND added_at <= ? AND (removed_at IS NULL OR removed_at > ?)
		ORDER BY registration_number, role, ord`, list, asOf, asOf).Scan(&parties).Error; err != nil {
		return nil, translate(err)
	}
	var items []itemRow
	if err := db.Raw(`SELECT id, registration_number, ord, type, serial_number, description, registered_at
		FROM items WHERE registration_number = ANY(?::text[]) AND registered_at <= ? AND (removed_at IS NULL OR removed_at > ?)
		ORDER BY registration_number, registered_at, ord`, list, asOf, asOf).Scan(&items).Error; err != nil {
		return nil, translate(err)
	}
	var events []eventRow
	if err := db.Raw(`SELECT log_index, number, registration_number, type, registered_at, organization_id
		FROM events WHERE registration_number = ANY(?::text[]) AND registered_at <= ? ORDER BY log_index`, list, asOf).Scan(&events).Error; err != nil {
		return nil, translate(err)
	}
	out := make([]registry.Registration, len(rows))
	index := make(map[string]*registry.Registration, len(rows))
	for i, row := range rows {
		r := registry.Registration{Number: row.Number, Kind: row.Kind, RegisteredAt: row.RegisteredAt.UTC(), ExpiresAt: row.ExpiresAt.UTC(),
			PeriodMonths: row.PeriodMonths, Reference: row.Reference, Status: registry.StatusEffective,
			Controller: registry.Controller{OrganizationID: row.ControllerID, USCC: row.ControllerUSCC},
			Grantors:   []registry.Party{}, SecuredParties: []registry.Party{},
			Collateral: registry.Collateral{Description: row.Description, Items: []registry.Item{}},
			History:    []registry.HistoryEntry{},
		}
		if row.EndedAt != nil && !row.EndedAt.After(asOf) {
			r.Status = row.Status
		}
		if row.MaxAmount != nil {
			r.MaxSecuredAmount = &registry.Money{Amount: *row.MaxAmount, Currency: deref(row.Currency)}
		}
		out[i] = r
		index[r.Number] = &out[i]
	}
	for _, p := range parties {
		r := index[p.RegistrationNumber]
		if r == nil {
			continue
		}
		if p.Role == roleGrantor {
			r.Grantors = append(r.Grantors, p.toDomain())
		} else {
			r.SecuredParties = append(r.SecuredParties, p.toDomain())
		}
	}
	for _, it := range items {
		if r := index[it.RegistrationNumber]; r != nil {
			r.Collateral.Items = append(r.Collateral.Items, registry.Item{ID: it.ID, Type: it.Type, SerialNumber: it.SerialNumber,
				Description: it.Description, RegisteredAt: it.RegisteredAt.UTC()})
		}
	}
	for _, e := range events {
		if r := index[e.RegistrationNumber]; r != nil {
			r.History = append(r.History, registry.HistoryEntry{Number: e.Number, Type: e.Type, RegisteredAt: e.RegisteredAt.UTC(),
				By: registry.Actor{OrganizationID: deref(e.OrganizationID)}, LogIndex: e.LogIndex})
		}
	}
	return out, nil
}

// FindRegistrations returns the registrations a search key finds at q.AsOf.
func (s *Store) FindRegistrations(ctx context.Context, q registry.Query) ([]registry.Match, error) {
	db := s.db.WithContext(ctx)
	var numbers []string
	var how string
	c := q.Criteria
	grantors := func(where string, arg any) error {
		return db.Raw(`SELECT DISTINCT registration_number FROM parties
			WHERE role = 'grantor' AND `+where+` AND added_at <= ? AND (removed_at IS NULL OR removed_at > ?)`,
			arg, q.AsOf, q.AsOf).Scan(&numbers).Error
	}
	var err error
	switch {
	case q.NameKey != "":
		how, err = matchCurrentName, grantors("type = 'organization' AND name_key = ?", q.NameKey)
	case c.USCC != "":
		how, err = matchUSCC, grantors("uscc = ?", c.USCC)
	case c.LEI != "":
		how, err = matchLEI, grantors("lei = ?", c.LEI)
	case c.IDNumber != "":
		how, err = matchIDNumber, grantors("type = 'individual' AND id_number = ?", c.IDNumber)
	case c.RegistrationNumber != "":
		how = matchRegistration
		err = db.Raw("SELECT registration_number FROM events WHERE number = ? AND registered_at <= ?", c.RegistrationNumber, q.AsOf).Scan(&numbers).Error
	case q.SerialKey != "":
		how = matchSerial
		err = db.Raw(`SELECT DISTINCT registration_number FROM items
			WHERE serial_key = ? AND registered_at <= ? AND (removed_at IS NULL OR removed_at > ?)`, q.SerialKey, q.AsOf, q.AsOf).Scan(&numbers).Error
	}
	if err != nil {
		return nil, translate(err)
	}
	out := make([]registry.Match, len(numbers))
	for i, n := range numbers {
		out[i] = registry.Match{RegistrationNumber: n, MatchedBy: how}
	}
	return out, nil
}

// SimilarNames offers grantor names whose search keys are close to, but not
// equal to, nameKey (pg_trgm), nearest first. The GiST index is walked in
// distance order, so the cost does not grow with the number of names.
func (s *Store) SimilarNames(ctx context.Context, nameKey string, asOf time.Time, limit int) ([]string, error) {
	names := []string{}
	// The inner query walks the index nearest first; the outer one breaks
	// ties by key so that the same register gives the same names.
	err := s.db.WithContext(ctx).Raw(`
		SELECT name FROM (
			SELECT name, name_key, name_key <-> ? AS distance FROM grantor_names
			WHERE name_key % ? AND name_key <> ? AND first_at <= ?
			ORDER BY name_key <-> ? LIMIT ?
		) nearest ORDER BY distance, name_key LIMIT ?`, nameKey, nameKey, nameKey, asOf, nameKey, 4*limit, limit).Scan(&names).Error
	return names, translate(err)
}

// LogSizeAt counts the events registered at or before t. Log positions and
// times increase together, so it is the last such position plus one.
func (s *Store) LogSizeAt(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Raw("SELECT COALESCE(MAX(log_index) + 1, 0) FROM events WHERE registered_at <= ?", t).Scan(&n).Error
	return n, translate(err)
}

// InsertSearch stores a search certificate with the exact bytes it answered.
func (s *Store) InsertSearch(ctx context.Context, c *registry.SearchCertificate, st registry.StoredSearch, userID string) error {
	criteria, err := json.Marshal(c.Criteria)
	if err != nil {
		return err
	}
	return translate(s.db.WithContext(ctx).Exec(`
		INSERT INTO searches (number, searched_at, as_of, organization_id, user_id, criteria, include_inactive, register_position, result_count, body)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		st.Number, c.SearchedAt, c.AsOf, nullable(st.OrganizationID), nullable(userID), string(criteria), c.IncludeInactive,
		c.RegisterPosition, c.ResultCount, st.Body).Error)
}

// Search loads a stored search.
func (s *Store) Search(ctx context.Context, number string) (registry.StoredSearch, error) {
	var row struct {
		Number         string
		OrganizationID *string
		Body           []byte
	}
	res := s.db.WithContext(ctx).Raw("SELECT number, organization_id, body FROM searches WHERE number = ?", number).Scan(&row)
	if res.Error == nil && res.RowsAffected == 0 {
		return registry.StoredSearch{}, registry.ErrNotFound
	}
	return registry.StoredSearch{Number: row.Number, OrganizationID: deref(row.OrganizationID), Body: row.Body}, translate(res.Error)
}

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}

// Certificate finds the event or search a number was issued to.
func (s *Store) Certificate(ctx context.Context, number string) (registry.Certificate, error) {
	db := s.db.WithContext(ctx)
	var ev eventRow
	res := db.Raw("SELECT number, registration_number, type, registered_at, record FROM events WHERE number = ?", number).Scan(&ev)
	if res.Error != nil {
		return registry.Certificate{}, translate(res.Error)
	}
	if res.RowsAffected == 1 {
		kind := ev.Type
		if kind == registry.EventInitial {
			kind = "registration"
		}
		return registry.Certificate{Number: ev.Number, KindOfCertificate: kind, IssuedAt: ev.RegisteredAt.UTC(),
			Digest: digest(ev.Record), RegistrationNumber: ev.RegistrationNumber}, nil
	}
	var se struct {
		Number     string
		SearchedAt time.Time
		Body       []byte
	}
	res = db.Raw("SELECT number, searched_at, body FROM searches WHERE number = ?", number).Scan(&se)
	if res.Error != nil {
		return registry.Certificate{}, translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return registry.Certificate{}, registry.ErrNotFound
	}
	return registry.Certificate{Number: se.Number, KindOfCertificate: "search", IssuedAt: se.SearchedAt.UTC(), Digest: digest(se.Body)}, nil
}
