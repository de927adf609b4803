package postgres

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/registry"
)

// A search that reads only as of its stamp (registry.StampSearchAsOf) holds
// no lock while it reads. The sequencer stamps it in a batch, first among the
// batch's writes; once that batch has committed, every event before its
// stamp has too, and what commits later is stamped later and registered
// after its instant, so reading the committed register as of the stamp sees
// exactly the events before it, whatever commits meanwhile. Its certificate
// and audit entry are then appended, with those of other searches that
// finished meanwhile, in one transaction, and it is answered once that has
// committed: a search is stored before anyone sees its answer.
//
// A search whose read fails after it was stamped leaves its number unused:
// search numbers may have gaps, the log's positions never.

// TakeIDNumberSearch counts a search by identity number against a
// searcher's cap: one statement keeps the times of those let through within
// the window (the row lock orders concurrent searches by one searcher), and
// refuses when limit of them are there already. A refusal marks the row,
// once a window, so that the first refusal of a burst can be told apart.
func (s *Store) TakeIDNumberSearch(ctx context.Context, searcher string, at time.Time, limit int, window time.Duration) (registry.Allowance, error) {
	since := at.Add(-window)
	var taken []bool
	err := s.w(ctx).Raw(`
		INSERT INTO id_number_allowances AS a (searcher, times) VALUES (?, ARRAY[?::timestamptz])
		ON CONFLICT (searcher) DO UPDATE
		SET times = ARRAY(SELECT t FROM unnest(a.times) t WHERE t > ? ORDER BY t) || EXCLUDED.times
		WHERE (SELECT count(*) FROM unnest(a.times) t WHERE t > ?) < ?
		RETURNING true`, searcher, at, since, since, limit).Scan(&taken).Error
	if err != nil {
		return registry.Allowance{}, translate(err)
	}
	if len(taken) == 1 {
		return registry.Allowance{Allowed: true}, nil
	}
	var r struct {
		Burst  bool
		Oldest *time.Time
	}
	err = s.w(ctx).Raw(`
		UPDATE id_number_allowances a
		SET flagged_at = CASE WHEN flagged_at IS NULL OR flagged_at <= ? THEN ?::timestamptz ELSE flagged_at END
		WHERE searcher = ?
		RETURNING flagged_at = ?::timestamptz AS burst, (SELECT min(t) FROM unnest(a.times) t WHERE t > ?) AS oldest`,
		since, at, searcher, at, since).Scan(&r).Error
	if err != nil {
		return registry.Allowance{}, translate(err)
	}
	wait := window
	if r.Oldest != nil {
		wait = r.Oldest.Add(window).Sub(at)
	}
	return registry.Allowance{RetryAfter: max(wait, time.Second), Burst: r.Burst}, nil
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
		SELECT r.registration_number, r.role, e.log_index, e.number, e.type, e.registered_at, e.organization_id::text, e.user_id::text, e.record, e.erased_at
		FROM ranked r LEFT JOIN events e ON e.registration_number = r.registration_number AND e.registered_at + interval '0' <= ?
		WHERE r.rn <= ?
		UNION ALL
		SELECT registration_number, role, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM ranked WHERE rn > ?`,
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
	db := s.q(ctx)
	if db.Error != nil {
		return nil, nil, translate(db.Error)
	}
	f := finder{how: how}
	// Outside a transaction, on pgx's own connection: no GORM, and none of
	// database/sql's conversions of every column of every row. The pool is
	// the one the view reads on, a replica's when the search was sent to
	// one. Inside a transaction (a search with an idempotency key), on the
	// transaction's connection through database/sql.
	if pool, ok := db.Statement.ConnPool.(*sql.DB); ok {
		err := onPgx(ctx, pool, func(c *pgx.Conn) error {
			rows, err := c.Query(ctx, numbered(query), args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var r foundRow
				if err := rows.Scan(r.dest()...); err != nil {
					return err
				}
				f.add(&r)
			}
			return rows.Err()
		})
		if err != nil {
			return nil, nil, translate(err)
		}
		return f.sorted()
	}
	rows, err := db.Statement.ConnPool.QueryContext(ctx, numbered(query), args...)
	if err != nil {
		return nil, nil, translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var r foundRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, nil, err
		}
		f.add(&r)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, translate(err)
	}
	return f.sorted()
}

// readRow reads one row of a statement with $n placeholders into dest
// (sql.ErrNoRows if there is none): outside a transaction straight through
// pgx, inside one on its connection.
func (s *Store) readRow(ctx context.Context, query string, args []any, dest ...any) error {
	db := s.q(ctx)
	if db.Error != nil {
		return db.Error
	}
	if pool, ok := db.Statement.ConnPool.(*sql.DB); ok {
		return onPgx(ctx, pool, func(c *pgx.Conn) error { return c.QueryRow(ctx, query, args...).Scan(dest...) })
	}
	return db.Statement.ConnPool.QueryRowContext(ctx, query, args...).Scan(dest...)
}

// onPgx runs fn on one of pool's connections as pgx's own.
func onPgx(ctx context.Context, pool *sql.DB, fn func(*pgx.Conn) error) error {
	conn, err := pool.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return errors.New("not a pgx connection")
		}
		return fn(c.Conn())
	})
}

// foundRow is a row of findSQL: a registration found, how, and one of its
// events (none for a registration past the first page).
type foundRow struct {
	number, role  string
	index         *int64
	ev            eventRow
	at            *time.Time
	typ, evNumber *string
}

func (r *foundRow) dest() []any {
	return []any{&r.number, &r.role, &r.index, &r.evNumber, &r.typ, &r.at, &r.ev.OrganizationID, &r.ev.UserID, &r.ev.Record, &r.ev.ErasedAt}
}

// finder gathers findSQL's rows into matches and events.
type finder struct {
	how     string
	matches []registry.Match
	events  []registry.EventRecord
	seen    map[string]bool
}

func (f *finder) add(r *foundRow) {
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	if !f.seen[r.number] {
		f.seen[r.number] = true
		m := registry.Match{RegistrationNumber: r.number, MatchedBy: f.how}
		if r.role == registry.RoleFormerGrantor {
			m.MatchedBy = matchFormerName
		}
		f.matches = append(f.matches, m)
	}
	if r.index != nil {
		ev := &r.ev
		ev.LogIndex, ev.Number, ev.RegistrationNumber, ev.Type, ev.RegisteredAt = *r.index, *r.evNumber, r.number, *r.typ, *r.at
		f.events = append(f.events, ev.toDomain())
	}
}

// sorted returns what was found sorted here rather than by the statement,
// whose sorts cost more to set up than to run: registrations in
// registration order, and events in log order, as replay reads them.
func (f *finder) sorted() ([]registry.Match, []registry.EventRecord, error) {
	slices.SortFunc(f.matches, func(a, b registry.Match) int { return strings.Compare(a.RegistrationNumber, b.RegistrationNumber) })
	slices.SortFunc(f.events, func(a, b registry.EventRecord) int { return cmp.Compare(a.LogIndex, b.LogIndex) })
	return f.matches, f.events, nil
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
	if s.buf == nil {
		return s.alone(ctx, func(tx *Store) error { return tx.InsertSearch(ctx, c, st, userID) })
	}
	criteria, err := json.Marshal(c.Criteria)
	if err != nil {
		return err
	}
	row := searchRow{Number: st.Number, SearchedAt: c.SearchedAt.Time, AsOf: c.AsOf.Time, OrganizationID: strPtr(st.OrganizationID),
		UserID: strPtr(userID), Criteria: string(criteria), IncludeInactive: c.IncludeInactive, RegisterPosition: c.RegisterPosition,
		ResultCount: int32(c.ResultCount), Body: st.Body, Individuals: joined(st.Individuals)}
	if st.Truncated {
		var b strings.Builder
		for _, m := range st.Matches {
			b.WriteString(m.RegistrationNumber + " " + m.MatchedBy + "\n")
		}
		matches := b.String()
		row.Matches, row.ViewerUSCC, row.ViewerStaff = &matches, strPtr(st.ViewerUSCC), st.ViewerStaff
	}
	s.buf.searches = append(s.buf.searches, row)
	return nil
}

// Search returns a stored search certificate.
func (s *Store) Search(ctx context.Context, number string) (registry.StoredSearch, error) {
	return readOn(s, ctx, -1, func(v *Store) (registry.StoredSearch, error) { return v.search(ctx, number) })
}

// search is Search on s.
func (s *Store) search(ctx context.Context, number string) (registry.StoredSearch, error) {
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
	return readOn(s, ctx, -1, func(v *Store) ([]byte, error) { return v.searchPage(ctx, number, cursor) })
}

// searchPage is SearchPage on s.
func (s *Store) searchPage(ctx context.Context, number string, cursor int) ([]byte, error) {
	var row struct{ Body []byte }
	res := s.q(ctx).Raw("SELECT body FROM search_pages WHERE number = ? AND cursor = ?", number, cursor).Scan(&row)
	if res.Error == nil && res.RowsAffected == 0 {
		return nil, registry.ErrNotFound
	}
	return row.Body, translate(res.Error)
}

// InsertSearchPage keeps a page of a search's results; the first kept
// stays. A page made from a registration's personal data as it was before
// an erasure is refused (registry.ErrConflict): the page's transaction
// holds the registrations it lists share-locked, so an erasure (which
// locks its registration's row for update) either committed first, and
// FOR SHARE waits for it and reads its erased_at, or comes after and finds
// the page to erase.
func (s *Store) InsertSearchPage(ctx context.Context, number string, cursor int, body []byte, individuals []string) error {
	return s.alone(ctx, func(tx *Store) error {
		if len(individuals) > 0 {
			var erased []bool
			err := tx.w(ctx).Raw(`SELECT erased_at IS NOT NULL FROM registrations WHERE number = ANY(?::text[]) FOR SHARE`,
				textArray(individuals)).Scan(&erased).Error
			if err != nil {
				return translate(err)
			}
			if slices.Contains(erased, true) {
				return registry.ErrConflict
			}
		}
		return translate(tx.w(ctx).Exec(`INSERT INTO search_pages (number, cursor, body, individuals) VALUES (?, ?, ?, string_to_array(?, ' '))
			ON CONFLICT (number, cursor) DO NOTHING`, number, cursor, bytea(body), joined(individuals)).Error)
	})
}

// joined is a list of registration numbers as a column of searches takes
// it, space-separated; nil for none.
func joined(numbers []string) *string {
	if len(numbers) == 0 {
		return nil
	}
	s := strings.Join(numbers, " ")
	return &s
}

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}

// Certificate finds the event or search a number was issued to.
func (s *Store) Certificate(ctx context.Context, number string) (registry.Certificate, error) {
	return readOn(s, ctx, -1, func(v *Store) (registry.Certificate, error) { return v.certificate(ctx, number) })
}

// certificate is Certificate on s.
func (s *Store) certificate(ctx context.Context, number string) (registry.Certificate, error) {
	db := s.q(ctx)
	// An event and the registration it belongs to, as it stands now, in
	// one read.
	var ev struct {
		Number, RegistrationNumber, Type string
		RegisteredAt                     time.Time
		Record                           []byte
		Kind                             string
		Status                           string
		RegRegistered                    time.Time
		ExpiresAt                        time.Time
		IssuedDigest                     *string
		ErasedAt                         *time.Time
	}
	// An erased event's certificate is verified by the digest it was
	// issued with, kept by the erasure; one erased before that was kept,
	// by the record the log commits to, which the erasure kept too.
	res := db.Raw(`SELECT e.number, e.registration_number, e.type, e.registered_at,
			CASE WHEN e.erased_at IS NULL THEN e.record ELSE COALESCE(e.log_record, e.record) END AS record,
			e.issued_digest, r.erased_at,
			r.kind, r.status, r.registered_at AS reg_registered, r.expires_at
		FROM events e JOIN registrations r ON r.number = e.registration_number WHERE e.number = ?`, number).Scan(&ev)
	if res.Error != nil {
		return registry.Certificate{}, translate(res.Error)
	}
	if res.RowsAffected == 1 {
		kind := ev.Type
		if kind == registry.EventInitial {
			kind = registry.CertificateOfRegistration
		}
		registered, expires := registry.At(ev.RegRegistered), registry.At(ev.ExpiresAt)
		cert := registry.Certificate{Number: ev.Number, KindOfCertificate: kind, IssuedAt: registry.At(ev.RegisteredAt),
			Digest: digest(ev.Record), RegistrationNumber: ev.RegistrationNumber,
			Kind: ev.Kind, Status: ev.Status, RegisteredAt: &registered, ExpiresAt: &expires}
		if ev.IssuedDigest != nil && *ev.IssuedDigest != "" {
			cert.Digest = *ev.IssuedDigest
		}
		if ev.ErasedAt != nil {
			erased := registry.At(*ev.ErasedAt)
			cert.ErasedAt = &erased
		}
		return cert, nil
	}
	var se struct {
		Number       string
		SearchedAt   time.Time
		Body         []byte
		IssuedDigest *string
		ErasedAt     *time.Time
	}
	res = db.Raw("SELECT number, searched_at, body, issued_digest, erased_at FROM searches WHERE number = ?", number).Scan(&se)
	if res.Error != nil {
		return registry.Certificate{}, translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return registry.Certificate{}, registry.ErrNotFound
	}
	cert := registry.Certificate{Number: se.Number, KindOfCertificate: registry.CertificateOfSearch, Kind: registry.CertificateOfSearch,
		IssuedAt: registry.At(se.SearchedAt), Digest: digest(se.Body)}
	// A search erased since it answered is verified by the digest of the
	// answer it gave, which the erasure keeps.
	if se.IssuedDigest != nil {
		cert.Digest = *se.IssuedDigest
	}
	if se.ErasedAt != nil {
		erased := registry.At(*se.ErasedAt)
		cert.ErasedAt = &erased
	}
	return cert, nil
}

// stampSQL hands out n search stamps in one statement: the register's head
// moves on by n numbers and n microseconds, the first no earlier than $2.
// It waits, like any writer, for a batch that holds the head to commit.
const stampSQL = `UPDATE register_head
	SET seq = seq + $1, last_at = GREATEST(last_at + interval '1 microsecond', $2::timestamptz) + ($1::int - 1) * interval '1 microsecond'
	RETURNING seq, log_size, last_at`

// stampSearches stamps n searches when a batch holds nothing else, on a
// connection of the sequencer's own that does not wait for the disk at
// commit (searches are answered only once their own rows are on it).
func (q *sequencer) stampSearches(n int) ([]registry.Stamp, error) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	if err := q.ownConn(ctx); err != nil {
		return nil, err
	}
	var h head
	now := q.store.now().UTC().Truncate(time.Microsecond)
	if err := q.stampConn.QueryRowContext(ctx, stampSQL, n, now).Scan(&h.Seq, &h.LogSize, &h.LastAt); err != nil {
		q.dropStampConn()
		return nil, translate(err)
	}
	stamps := make([]registry.Stamp, n)
	for i := range stamps {
		back := int64(n - 1 - i)
		at := h.LastAt.UTC().Add(-time.Duration(back) * time.Microsecond)
		stamps[i] = registry.Stamp{Number: registry.FormatNumber(at, h.Seq-back), At: at, LogIndex: -1, LogSize: h.LogSize}
	}
	return stamps, nil
}

// ownConn opens the loop's own connection if it has none.
func (q *sequencer) ownConn(ctx context.Context) error {
	if q.stampConn != nil {
		return nil
	}
	sqlDB, err := q.store.db.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return translate(err)
	}
	q.stampConn = conn
	if _, err := conn.ExecContext(ctx, "SET synchronous_commit TO OFF"); err != nil {
		q.dropStampConn()
		return translate(err)
	}
	return nil
}

// dropStampConn discards the stamping connection: its session does not wait
// for the disk, so it never goes back to the pool for other writes.
func (q *sequencer) dropStampConn() {
	if q.stampConn == nil {
		return
	}
	_ = q.stampConn.Raw(func(any) error { return driver.ErrBadConn })
	_ = q.stampConn.Close()
	q.stampConn = nil
}

// parallelSearches bounds how many stamped searches read at once (each
// holds one connection while it reads).
const parallelSearches = 8

// search runs a stamped search on the committed register and hands its
// rows to the appender.
func (q *sequencer) search(r *request, st registry.Stamp) {
	q.searching.Add(1)
	go func() {
		defer q.searching.Done()
		q.readers <- struct{}{}
		// On a replica that holds the register up to the stamp (and so
		// finds what the primary would), else, or if it fails, on the
		// primary.
		var buf *writeBuffer
		read := func(rep *replica) error {
			db := q.store.db
			if rep != nil {
				db = rep.db
			}
			buf = &writeBuffer{ctx: r.ctx, detached: true}
			return r.val.fn(q.store.batchView(db, buf, nil), st)
		}
		var err error
		if rs := q.store.replicas; rs != nil {
			err = rs.run(r.ctx, st.LogSize, read)
		} else {
			err = read(nil)
		}
		<-q.readers
		q.searched(r, buf, err)
	}()
}

// searched answers a search that failed, or hands its rows to the appender.
func (q *sequencer) searched(r *request, buf *writeBuffer, err error) {
	if err != nil {
		r.done <- err
		return
	}
	q.appender.add(&appended{done: r.done, searches: buf.searches, audits: buf.audits, stats: buf.stats})
}

// appended is a finished search's rows and the answer it waits for.
type appended struct {
	done     chan error
	searches []searchRow
	audits   []audit.Entry
	stats    []registry.StatDelta
}

// appender writes finished searches' rows a batch at a time.
type appender struct {
	store *Store
	// The audit chain's head as the last append left it (headHash nil: to
	// be read).
	headSeq  int64
	headHash []byte
	queue    chan *appended
	maxBatch int
	mu       sync.Mutex
	closed   bool
	stopped  chan struct{}
}

// newAppender starts the appender's loop; close stops it once it has
// written what it was given.
func newAppender(s *Store, maxBatch int) *appender {
	a := &appender{store: s, queue: make(chan *appended, 4*maxBatch), maxBatch: maxBatch, stopped: make(chan struct{})}
	go a.loop()
	return a
}

func (a *appender) add(x *appended) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		x.done <- errClosed
		return
	}
	a.queue <- x
}

func (a *appender) close() {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.queue)
	}
	a.mu.Unlock()
	<-a.stopped
}

func (a *appender) loop() {
	defer close(a.stopped)
	batch := make([]*appended, 0, a.maxBatch)
	for first := range a.queue {
		batch = append(batch[:0], first)
	gather:
		for len(batch) < a.maxBatch {
			select {
			case x, ok := <-a.queue:
				if !ok {
					break gather
				}
				batch = append(batch, x)
			default:
				break gather
			}
		}
		if err := a.write(batch); err != nil && len(batch) > 1 {
			// One bad row must not fail the others: each alone.
			for _, x := range batch {
				x.done <- a.write([]*appended{x})
			}
		} else {
			for _, x := range batch {
				x.done <- err
			}
		}
		clear(batch)
	}
}

// appendSQL appends searches and their audit entries in one statement: it
// moves the audit chain's head on only from the head the entries were
// chained onto ($1, $2), and writes nothing if another writer moved it
// first. Its own statement is its own transaction.
var appendSQL = `WITH head AS (UPDATE audit_head SET seq = $3, hash = $4 WHERE seq = $1 AND hash = $2 RETURNING 1),
	s AS (INSERT INTO searches (number, searched_at, as_of, organization_id, user_id, criteria, include_inactive, register_position, result_count, body,
			matches, viewer_uscc, viewer_staff, individuals)
		` + searchesFrom(5) + ` WHERE EXISTS (SELECT 1 FROM head)),
	st AS (` + strings.Replace(statsSQL(31), "AS x(m, k, p, r, a, c, s)", "AS x(m, k, p, r, a, c, s) WHERE EXISTS (SELECT 1 FROM head)", 1) + `)
	INSERT INTO audit_entries (id, chain, at, actor, user_id, organization_id, action, target, outcome, source, request_id, detail)
	` + auditsFrom(19) + ` WHERE EXISTS (SELECT 1 FROM head)`

// write appends the rows of searches. The audit chain's head is kept from
// the last append and checked as it is moved on; when another writer (a
// batch of events, another instance) has moved it meanwhile, it is read
// again and the append tried again.
func (a *appender) write(batch []*appended) error {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	var rows []searchRow
	var audits []audit.Entry
	var stats []registry.StatDelta
	for _, x := range batch {
		rows = append(rows, x.searches...)
		audits = append(audits, x.audits...)
		stats = append(stats, x.stats...)
	}
	if len(audits) == 0 {
		return a.writeInTx(ctx, rows, audits, stats)
	}
	sqlDB, err := a.store.db.DB()
	if err != nil {
		return err
	}
	for range 3 {
		if a.headHash == nil {
			if err := sqlDB.QueryRowContext(ctx, "SELECT seq, hash FROM audit_head").Scan(&a.headSeq, &a.headHash); err != nil {
				return translate(err)
			}
		}
		args, seq, hash := auditArgs(audits, a.headSeq, a.headHash)
		all := append([]any{a.headSeq, a.headHash, seq, hash}, searchArgs(rows)...)
		all = append(all, args...)
		res, err := sqlDB.ExecContext(ctx, appendSQL, append(all, statArgs(stats)...)...)
		if err != nil {
			a.headHash = nil
			return translate(err)
		}
		if n, err := res.RowsAffected(); err == nil && n == int64(len(audits)) {
			a.headSeq, a.headHash = seq, hash
			return nil
		}
		a.headHash = nil // moved on by another writer: read it again
	}
	// Contended: append under the head's lock, as a batch of events does.
	return a.writeInTx(ctx, rows, audits, stats)
}

// writeInTx appends rows in a transaction that locks the audit chain's head.
func (a *appender) writeInTx(ctx context.Context, rows []searchRow, audits []audit.Entry, stats []registry.StatDelta) error {
	a.headHash = nil
	return translate(a.store.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		buf := &writeBuffer{tx: tx, ctx: ctx, searches: rows, audits: audits, stats: stats}
		return buf.flush()
	}))
}

// SearchHistory lists stored searches, newest first (by number, which is
// their order).
func (s *Store) SearchHistory(ctx context.Context, f registry.HistoryFilter) ([]registry.SearchSummary, error) {
	q := s.q(ctx).Table("searches").Select("number, searched_at, criteria, result_count").Order("number DESC").Limit(f.Limit)
	if f.OrganizationID != "" {
		q = q.Where("organization_id = ?", f.OrganizationID)
	}
	if f.From != nil {
		q = q.Where("searched_at >= ?", *f.From)
	}
	if f.To != nil {
		q = q.Where("searched_at < ?", *f.To)
	}
	if f.Before != "" {
		q = q.Where("number < ?", f.Before)
	}
	var rows []struct {
		Number      string
		SearchedAt  time.Time
		Criteria    []byte
		ResultCount int
	}
	if err := q.Scan(&rows).Error; err != nil {
		return nil, translate(err)
	}
	out := make([]registry.SearchSummary, len(rows))
	for i, r := range rows {
		out[i] = registry.SearchSummary{Number: r.Number, SearchedAt: registry.At(r.SearchedAt), ResultCount: r.ResultCount}
		if err := json.Unmarshal(r.Criteria, &out[i].Criteria); err != nil {
			return nil, err
		}
	}
	return out, nil
}
