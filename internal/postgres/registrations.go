package postgres

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
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
}

// InsertEvent appends a registry event and its hashes in the log, in one
// statement (or, inside a batch, with the batch's).
func (s *Store) InsertEvent(ctx context.Context, e registry.EventRecord) error {
	first, hashes, err := s.newHashes(ctx, e.LogIndex, e.Record)
	if err != nil {
		return err
	}
	if s.buf != nil {
		s.bufferEvent(e)
		for i, h := range hashes {
			s.buf.hashIDs, s.buf.hashes = append(s.buf.hashIDs, first+int64(i)), append(s.buf.hashes, h[:])
		}
		return nil
	}
	values, args := hashValues(first, hashes)
	args = append([]any{e.LogIndex, e.Number, e.RegistrationNumber, e.Type, e.At, strPtr(e.OrganizationID), strPtr(e.UserID), e.Record}, args...)
	return translate(s.w(ctx).Exec(`WITH event AS (
			INSERT INTO events (log_index, number, registration_number, type, registered_at, organization_id, user_id, record)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?))
		INSERT INTO log_hashes (id, hash) VALUES `+values, args...).Error)
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
	row := headRowOf(h)
	row.ModificationCodeHash = modificationCodeHash
	if s.buf != nil {
		s.buf.registrations = append(s.buf.registrations, row)
		return nil
	}
	return translate(s.q(ctx).Table("registrations").Create(&row).Error)
}

func headRowOf(h registry.RegistrationHead) registrationRow {
	return registrationRow{Number: h.Number, Kind: h.Kind, RegisteredAt: h.RegisteredAt, ExpiresAt: h.ExpiresAt,
		ControllerID: strPtr(h.ControllerID), ControllerUSCC: h.ControllerUSCC, Status: h.Status, EndedAt: h.EndedAt}
}

// UpdateRegistration rewrites a registration's current-state row.
func (s *Store) UpdateRegistration(ctx context.Context, h registry.RegistrationHead) error {
	row := headRowOf(h)
	if s.buf != nil {
		s.buf.updates = append(s.buf.updates, row)
		return nil
	}
	return translate(s.w(ctx).Exec(`UPDATE registrations SET expires_at = ?, controller_id = ?, controller_uscc = ?,
		status = ?, ended_at = ? WHERE number = ?`,
		row.ExpiresAt, row.ControllerID, row.ControllerUSCC, row.Status, row.EndedAt, row.Number).Error)
}

// SetModificationCode replaces the hash of a registration's modification code.
func (s *Store) SetModificationCode(ctx context.Context, number string, hash []byte) error {
	if s.buf != nil {
		s.buf.codes = append(s.buf.codes, registrationRow{Number: number, ModificationCodeHash: hash})
		return nil
	}
	return translate(s.w(ctx).Exec("UPDATE registrations SET modification_code_hash = ? WHERE number = ?", bytea(hash), number).Error)
}

// IndexParties ends the registration's open party rows at at and inserts
// these in their place. An unchanged party's row ends and restarts at the
// same instant, so searches as of any instant see it without a gap.
func (s *Store) IndexParties(ctx context.Context, number string, at time.Time, parties []registry.IndexedParty) error {
	if s.buf != nil {
		s.bufferParties(number, at, parties)
		return nil
	}
	db := s.w(ctx)
	if err := db.Exec("UPDATE parties SET removed_at = ? WHERE registration_number = ? AND removed_at IS NULL", at, number).Error; err != nil {
		return translate(err)
	}
	rows := partyRows(number, at, parties)
	if len(rows) == 0 {
		return nil
	}
	if err := db.Table("parties").CreateInBatches(&rows, 500).Error; err != nil {
		return translate(err)
	}
	added := false
	for _, p := range rows {
		if isGrantorName(p) {
			if err := db.Exec("INSERT INTO grantor_names (name_key, name, first_at) VALUES (?, ?, ?) ON CONFLICT (name_key) DO NOTHING",
				p.NameKey, p.Name, p.AddedAt).Error; err != nil {
				return translate(err)
			}
			if s.newNames != nil {
				*s.newNames = append(*s.newNames, grantorName{Key: p.NameKey, Name: p.Name})
			}
			added = true
		}
	}
	if added {
		return translate(db.Exec("SELECT pg_notify(?, '')", namesChannel).Error)
	}
	return nil
}

// InsertItems adds collateral items to the index, each with its own priority time.
func (s *Store) InsertItems(ctx context.Context, number string, items []registry.Item) error {
	rows := itemRows(number, items)
	if s.buf != nil {
		s.buf.items = append(s.buf.items, rows...)
		return nil
	}
	return translate(s.w(ctx).Table("items").CreateInBatches(&rows, 500).Error)
}

// RemoveItems ends items' index rows at at.
func (s *Store) RemoveItems(ctx context.Context, number string, ids []string, at time.Time) error {
	if s.buf != nil {
		for _, id := range ids {
			s.buf.itemEnds = append(s.buf.itemEnds, rowEnd{Number: number, ID: id, At: at})
		}
		return nil
	}
	return translate(s.w(ctx).Exec("UPDATE items SET removed_at = ? WHERE registration_number = ? AND id = ANY(?::text[]) AND removed_at IS NULL",
		at, number, textArray(ids)).Error)
}

// eventsSQL finds events by their registrations' index; the instant only
// filters them (see findSQL).
const eventsSQL = `SELECT log_index, number, registration_number, type, registered_at, organization_id, user_id, record
		FROM events WHERE registration_number = ANY(?::text[]) AND registered_at + interval '0' <= ? ORDER BY log_index`

// Events returns the events of the given registrations registered at or
// before asOf, in log order.
func (s *Store) Events(ctx context.Context, registrationNumbers []string, asOf time.Time) ([]registry.EventRecord, error) {
	var rows []eventRow
	if err := s.q(ctx).Raw(eventsSQL, textArray(registrationNumbers), asOf).Scan(&rows).Error; err != nil {
		return nil, translate(err)
	}
	out := make([]registry.EventRecord, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}

// ListRegistrations returns one page of an organization's registration
// numbers in registration order, filtered by status at f.Now.
func (s *Store) ListRegistrations(ctx context.Context, f registry.ListFilter) ([]string, error) {
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

// InsertNotification stores something an organization must be told.
func (s *Store) InsertNotification(ctx context.Context, n registry.Notification) error {
	if s.buf != nil {
		s.buf.notifications = append(s.buf.notifications, n)
		return nil
	}
	return translate(s.w(ctx).Exec(`INSERT INTO notifications (organization_id, registration_number, event_number, kind, created_at)
		VALUES (?, ?, ?, ?, ?)`, nullable(n.OrganizationID), n.RegistrationNumber, n.EventNumber, n.Kind, n.At).Error)
}

// ClaimIdempotencyKey records a new key, or returns what the request that
// first used it stored. A concurrent first use holds the key's row until it
// commits or rolls back; this waits for it.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, id, fingerprint []byte, at time.Time) (registry.IdempotentResponse, bool, error) {
	db := s.w(ctx)
	res := db.Exec("INSERT INTO idempotency_keys (id, fingerprint, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING", bytea(id), bytea(fingerprint), at)
	if res.Error != nil {
		return registry.IdempotentResponse{}, false, translate(res.Error)
	}
	if res.RowsAffected == 1 {
		return registry.IdempotentResponse{}, true, nil
	}
	var row struct {
		Fingerprint []byte
		Response    []byte
	}
	err := db.Raw("SELECT fingerprint, response FROM idempotency_keys WHERE id = ?", bytea(id)).Scan(&row).Error
	return registry.IdempotentResponse{Fingerprint: row.Fingerprint, Sealed: row.Response}, false, translate(err)
}

// SaveIdempotentResponse stores the sealed first answer under its key.
func (s *Store) SaveIdempotentResponse(ctx context.Context, id, sealed []byte) error {
	return translate(s.w(ctx).Exec("UPDATE idempotency_keys SET response = ? WHERE id = ?", bytea(sealed), bytea(id)).Error)
}

// RegistrationNumberOf finds the registration that an event number belongs to.
func (s *Store) RegistrationNumberOf(ctx context.Context, anyNumber string) (string, error) {
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

// bytea binds a byte string as one parameter (GORM would expand a bare
// []byte in a raw query into a list).
type bytea []byte

// Value passes the bytes to the driver as they are.
func (b bytea) Value() (driver.Value, error) { return []byte(b), nil }

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

// searchSQL is the statement that finds what a search key finds at q.AsOf,
// with how it matched, each registration once: the
// key's own statement (each answered by its own partial index), then the
// registrations' state at q.AsOf unless inactive ones are asked for. A
// registration was effective at an instant exactly when it had not ended by
// then and its expiry, as it stands now, lies after it: an expiry only ever
// moves later, and only while the registration is effective.
func searchSQL(q registry.Query) (query string, args []any, how string) {
	c := q.Criteria
	grantors := func(where string, arg any) (string, []any) {
		return `SELECT DISTINCT registration_number, '' AS role FROM parties
			WHERE role = 'grantor' AND ` + where + ` AND added_at <= ? AND (removed_at IS NULL OR removed_at > ?)`, []any{arg, q.AsOf, q.AsOf}
	}
	switch {
	case q.NameKey != "":
		// Current names first: a registration found both ways matched by
		// its current name. 'grantor' sorts after 'former_grantor'.
		alive := ` AND name_key = ? AND added_at <= ? AND (removed_at IS NULL OR removed_at > ?)`
		query, args, how = `SELECT registration_number, MAX(role) AS role FROM (
			SELECT registration_number, role FROM parties WHERE role = 'grantor' AND type = 'organization'`+alive+`
			UNION ALL
			SELECT registration_number, role FROM parties WHERE role = 'former_grantor' AND type = 'organization'`+alive+`
		) found GROUP BY registration_number`, []any{q.NameKey, q.AsOf, q.AsOf, q.NameKey, q.AsOf, q.AsOf}, matchCurrentName
	case c.USCC != "":
		query, args = grantors("uscc = ?", c.USCC)
		how = matchUSCC
	case c.LEI != "":
		query, args = grantors("lei = ?", c.LEI)
		how = matchLEI
	case c.IDNumber != "":
		query, args = grantors("type = 'individual' AND id_number = ?", c.IDNumber)
		how = matchIDNumber
	case c.RegistrationNumber != "":
		query, args, how = "SELECT registration_number, '' AS role FROM events WHERE number = ? AND registered_at <= ?", []any{c.RegistrationNumber, q.AsOf}, matchRegistration
	case q.SerialKey != "":
		query, args, how = `SELECT DISTINCT registration_number, '' AS role FROM items
			WHERE serial_key = ? AND registered_at <= ? AND (removed_at IS NULL OR removed_at > ?)`, []any{q.SerialKey, q.AsOf, q.AsOf}, matchSerial
	default:
		return "", nil, ""
	}
	return `SELECT f.registration_number, f.role FROM (` + query + `) f JOIN registrations r ON r.number = f.registration_number
		WHERE ? OR ((r.ended_at IS NULL OR r.ended_at > ?) AND r.expires_at > ?)`, append(args, q.Inactive, q.AsOf, q.AsOf), how
}

// numbered writes a statement's ? placeholders as PostgreSQL's $1, $2, …
// (the statements here have no ? of their own).
func numbered(query string) string {
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// findSQL is the one statement a search runs: what its key finds (searchSQL),
// and the events up to q.AsOf of the first first registrations found.
func findSQL(q registry.Query, first int) (string, []any, string) {
	query, args, how := searchSQL(q)
	if query == "" {
		return "", nil, ""
	}
	// Only the first registrations are joined to their events (the rest are
	// listed alone), so that a grantor with thousands of registrations costs
	// a page's events, not all of theirs. A registration's events are found
	// by its own index; the instant only filters them (written so that no
	// plan, stale statistics or not, reads the index by time instead).
	return `WITH found AS (` + query + `),
		ranked AS (SELECT registration_number, role, row_number() OVER (ORDER BY registration_number) AS rn FROM found)
		SELECT r.registration_number, r.role, e.log_index, e.number, e.type, e.registered_at, e.organization_id::text, e.user_id::text, e.record
		FROM ranked r LEFT JOIN events e ON e.registration_number = r.registration_number AND e.registered_at + interval '0' <= ?
		WHERE r.rn <= ?
		UNION ALL
		SELECT registration_number, role, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM ranked WHERE rn > ?`,
		append(args, q.AsOf, first, first), how
}

// FindRegistrations returns what a search key finds at q.AsOf, in
// registration order, and the events (registered at or before q.AsOf, in
// log order) of the first first of them: one statement answers a search
// of a few registrations whole, and a large one its first page.
func (s *Store) FindRegistrations(ctx context.Context, q registry.Query, first int) ([]registry.Match, []registry.EventRecord, error) {
	query, args, how := findSQL(q, first)
	if query == "" {
		return nil, nil, nil
	}
	// Straight to the connection (the transaction's, inside one): the
	// busiest statement of all is not built again by GORM each time.
	db := s.q(ctx)
	if db.Error != nil {
		return nil, nil, translate(db.Error)
	}
	rows, err := db.Statement.ConnPool.QueryContext(ctx, numbered(query), args...)
	if err != nil {
		return nil, nil, translate(err)
	}
	defer rows.Close()
	var matches []registry.Match
	var events []registry.EventRecord
	seen := map[string]bool{}
	for rows.Next() {
		var number, role string
		var index *int64
		var ev eventRow
		var at *time.Time
		var typ, evNumber *string
		if err := rows.Scan(&number, &role, &index, &evNumber, &typ, &at, &ev.OrganizationID, &ev.UserID, &ev.Record); err != nil {
			return nil, nil, err
		}
		if !seen[number] {
			seen[number] = true
			m := registry.Match{RegistrationNumber: number, MatchedBy: how}
			if role == registry.RoleFormerGrantor {
				m.MatchedBy = matchFormerName
			}
			matches = append(matches, m)
		}
		if index != nil {
			ev.LogIndex, ev.Number, ev.RegistrationNumber, ev.Type, ev.RegisteredAt = *index, *evNumber, number, *typ, *at
			events = append(events, ev.toDomain())
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, translate(err)
	}
	// Sorted here rather than by the statement, whose sorts cost more to
	// set up than to run: registrations in registration order, and events
	// in log order, as replay reads them.
	slices.SortFunc(matches, func(a, b registry.Match) int { return strings.Compare(a.RegistrationNumber, b.RegistrationNumber) })
	slices.SortFunc(events, func(a, b registry.EventRecord) int { return cmp.Compare(a.LogIndex, b.LogIndex) })
	return matches, events, nil
}

// Plan is how PostgreSQL ran one of a search's statements.
type Plan struct {
	Statement string `json:"statement"`
	Plan      string `json:"plan"`
}

// ExplainSearch runs a search's statements under EXPLAIN ANALYZE: the one
// that finds its registrations and their events, a later page's events,
// and for a name the check of which similar names a search would find.
func (s *Store) ExplainSearch(ctx context.Context, q registry.Query) ([]Plan, error) {
	explain := func(name, query string, args ...any) (Plan, []string, error) {
		var lines []string
		err := s.db.WithContext(ctx).Raw("EXPLAIN (ANALYZE, BUFFERS) "+query, args...).Scan(&lines).Error
		return Plan{Statement: name, Plan: strings.Join(lines, "\n")}, lines, translate(err)
	}
	query, args, how := findSQL(q, 32)
	if query == "" {
		return nil, errors.New("the query has no search key")
	}
	find, _, err := explain("find by "+how+", with the first page's events", query, args...)
	if err != nil {
		return nil, err
	}
	plans := []Plan{find}
	matches, _, err := s.FindRegistrations(ctx, q, 0)
	if err != nil {
		return nil, err
	}
	numbers := make([]string, len(matches))
	for i, m := range matches {
		numbers[i] = m.RegistrationNumber
	}
	p, _, err := explain("events of a later page", eventsSQL, textArray(numbers), q.AsOf)
	if err != nil {
		return nil, err
	}
	plans = append(plans, p)
	if q.NameKey != "" {
		if err := s.similar.ready(ctx); err != nil {
			return nil, err
		}
		// The name's own key stands in when nothing is similar to it.
		keys := []string{q.NameKey}
		for _, c := range s.similar.idx.Similar(q.NameKey, q.Criteria.GrantorName, 20) {
			keys = append(keys, c.Key)
		}
		p, _, err := explain("similar names: which candidates a search would find", liveNamesSQL, textArray(keys), q.AsOf, false)
		if err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	return plans, nil
}

// LogSizeAt counts the events registered at or before t. Log positions and
// times increase together, so it is the last such position plus one.
func (s *Store) LogSizeAt(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := s.q(ctx).Raw("SELECT COALESCE(MAX(log_index) + 1, 0) FROM events WHERE registered_at <= ?", t).Scan(&n).Error
	return n, translate(err)
}

// InsertSearch stores a search certificate with the exact bytes it answered
// and, when it was truncated, what its further pages are made from.
func (s *Store) InsertSearch(ctx context.Context, c *registry.SearchCertificate, st registry.StoredSearch, userID string) error {
	criteria, err := json.Marshal(c.Criteria)
	if err != nil {
		return err
	}
	row := searchRow{Number: st.Number, SearchedAt: c.SearchedAt.Time, AsOf: c.AsOf.Time, OrganizationID: strPtr(st.OrganizationID),
		UserID: strPtr(userID), Criteria: string(criteria), IncludeInactive: c.IncludeInactive, RegisterPosition: c.RegisterPosition,
		ResultCount: int32(c.ResultCount), Body: st.Body}
	if st.Truncated {
		var b strings.Builder
		for _, m := range st.Matches {
			b.WriteString(m.RegistrationNumber + " " + m.MatchedBy + "\n")
		}
		matches := b.String()
		row.Matches, row.ViewerUSCC, row.ViewerStaff = &matches, strPtr(st.ViewerUSCC), st.ViewerStaff
	}
	if s.buf != nil {
		s.buf.searches = append(s.buf.searches, row)
		return nil
	}
	return translate(s.w(ctx).Exec(`
		INSERT INTO searches (number, searched_at, as_of, organization_id, user_id, criteria, include_inactive, register_position, result_count, body,
			matches, viewer_uscc, viewer_staff)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		row.Number, row.SearchedAt, row.AsOf, row.OrganizationID, row.UserID, row.Criteria, row.IncludeInactive,
		row.RegisterPosition, row.ResultCount, row.Body, row.Matches, row.ViewerUSCC, row.ViewerStaff).Error)
}

// Search returns a stored search certificate.
func (s *Store) Search(ctx context.Context, number string) (registry.StoredSearch, error) {
	var row struct {
		Number         string
		OrganizationID *string
		Body           []byte
		AsOf           time.Time
		ResultCount    int
		Matches        *string
		ViewerUSCC     *string `gorm:"column:viewer_uscc"`
		ViewerStaff    bool
	}
	res := s.q(ctx).Raw("SELECT number, organization_id, body, as_of, result_count, matches, viewer_uscc, viewer_staff FROM searches WHERE number = ?", number).Scan(&row)
	if res.Error == nil && res.RowsAffected == 0 {
		return registry.StoredSearch{}, registry.ErrNotFound
	}
	st := registry.StoredSearch{Number: row.Number, OrganizationID: deref(row.OrganizationID), Body: row.Body, AsOf: row.AsOf,
		ResultCount: row.ResultCount, ViewerUSCC: deref(row.ViewerUSCC), ViewerStaff: row.ViewerStaff}
	if row.Matches != nil {
		st.Truncated = true
		for line := range strings.Lines(*row.Matches) {
			number, how, _ := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
			st.Matches = append(st.Matches, registry.Match{RegistrationNumber: number, MatchedBy: how})
		}
	}
	return st, translate(res.Error)
}

// SearchPage returns a page of a search's results as first read.
func (s *Store) SearchPage(ctx context.Context, number string, cursor int) ([]byte, error) {
	var row struct{ Body []byte }
	res := s.q(ctx).Raw("SELECT body FROM search_pages WHERE number = ? AND cursor = ?", number, cursor).Scan(&row)
	if res.Error == nil && res.RowsAffected == 0 {
		return nil, registry.ErrNotFound
	}
	return row.Body, translate(res.Error)
}

// InsertSearchPage keeps a page of a search's results; the first kept stays.
func (s *Store) InsertSearchPage(ctx context.Context, number string, cursor int, body []byte) error {
	return translate(s.w(ctx).Exec("INSERT INTO search_pages (number, cursor, body) VALUES (?, ?, ?) ON CONFLICT (number, cursor) DO NOTHING",
		number, cursor, bytea(body)).Error)
}

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}

// Certificate finds the event or search a number was issued to.
func (s *Store) Certificate(ctx context.Context, number string) (registry.Certificate, error) {
	db := s.q(ctx)
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
		return registry.Certificate{Number: ev.Number, KindOfCertificate: kind, IssuedAt: registry.At(ev.RegisteredAt),
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
	return registry.Certificate{Number: se.Number, KindOfCertificate: "search", IssuedAt: registry.At(se.SearchedAt), Digest: digest(se.Body)}, nil
}
