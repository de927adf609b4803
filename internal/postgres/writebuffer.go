package postgres

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/registry"
)

// writeBuffer holds the rows that the writes of a batch add, until a read
// needs them in the database or the batch ends. A flush writes each table's
// rows in one statement (arrays through unnest), so a batch of filings costs a
// handful of round trips, not a dozen per filing.
//
// A flush comes before every read, so each write's transaction sees exactly
// what it would have seen alone. Within one flush a registration is touched by
// at most one write: changing a registration starts with reading it, which
// flushes whatever came before.
type writeBuffer struct {
	tx  *gorm.DB
	ctx context.Context

	// The tables' buffered rows, each a list of its own; every one of them
	// is named once more in tables, which marks and discards them alike.
	events        rows[eventRow]
	hashIDs       rows[int64]
	hashes        rows[[]byte]
	registrations rows[registrationRow]
	updates       rows[registrationRow]
	codes         rows[registrationRow]
	partyEnds     rows[rowEnd]
	parties       rows[partyRow]
	itemEnds      rows[rowEnd]
	items         rows[itemRow]
	notifications rows[registry.Notification]
	watchMatches  rows[registry.WatchMatch]
	stats         rows[registry.StatDelta]
	searches      rows[searchRow]
	audits        rows[audit.Entry]
	// keys are idempotency keys claimed by the batch's writes, with their
	// sealed answers once saved: a key is written only with its write, so
	// that a replay or a refusal after a claim leaves nothing to undo.
	keys rows[keyRow]
	// all lists the tables above (tables builds it once).
	all []table

	// queued are the statements that the next send writes; commit ends
	// the send with COMMIT (the batch's last).
	queued []statement
	commit bool
	// names are the grantor names flushed so far, for the similar names
	// once the batch commits.
	names []grantorName

	// The audit chain's head, read and locked at the batch's first audit
	// flush and carried forward in memory.
	auditRead bool
	auditSeq  int64
	auditHash []byte

	// mark is where the running write's rows begin, a length for each of
	// the tables in their order; dirty is set once any of them, or a
	// direct write of its, reached the database.
	mark  []int
	dirty bool
	// detached is a search's buffer outside the transaction: its reads go
	// to the committed register and it may not write there itself.
	detached bool
	// shared marks a batch's buffer, whose transaction many writes share
	// (a transaction of one write has a buffer too).
	shared bool
	// ahead marks a batch's buffer while the batch is prepared before it
	// holds the head (ahead.go): it has no transaction, and a write that
	// reads or writes the database sets needHead and fails.
	ahead    bool
	needHead bool
}

// errDetachedWrite stops a write that reached the database from outside a
// batch's transaction.
var errDetachedWrite = errors.New("a search outside the transaction may not write")

type keyRow struct {
	ID, Fingerprint, Response []byte
	CreatedAt                 time.Time
	// NotBefore: an earlier use of the key has expired, and is replaced.
	NotBefore time.Time
}

type rowEnd struct {
	Number string
	ID     string
	At     time.Time
}

type searchRow struct {
	Number, Criteria       string
	SearchedAt, AsOf       time.Time
	OrganizationID, UserID *string
	IncludeInactive        bool
	RegisterPosition       int64
	ResultCount            int32
	Body                   []byte
	Matches, ViewerUSCC    *string
	ViewerStaff            bool
	// Individuals lists, space-separated, the registrations in the answer
	// that name an individual (nil when none does): what the retention
	// erasure looks searches up by.
	Individuals *string
}

// rows is one table's buffered rows: a list that the store's views append
// to as to any slice.
type rows[R any] []R

// table is what a buffer's mark and discard need of each of its tables.
type table interface {
	size() int
	// cut drops the rows from n on.
	cut(n int)
}

func (t *rows[R]) size() int { return len(*t) }
func (t *rows[R]) cut(n int) { *t = (*t)[:n] }

// tables lists the buffer's tables, once: the order marks use.
func (b *writeBuffer) tables() []table {
	if b.all == nil {
		b.all = []table{&b.events, &b.hashIDs, &b.hashes, &b.registrations, &b.updates, &b.codes, &b.partyEnds, &b.parties,
			&b.itemEnds, &b.items, &b.notifications, &b.watchMatches, &b.stats, &b.searches, &b.audits, &b.keys}
	}
	return b.all
}

// empty reports whether no table holds a row.
func (b *writeBuffer) empty() bool {
	for _, t := range b.tables() {
		if t.size() > 0 {
			return false
		}
	}
	return true
}

// grown reports whether a table holds rows added since begin.
func (b *writeBuffer) grown() bool {
	for i, t := range b.tables() {
		if t.size() != b.markAt(i) {
			return true
		}
	}
	return false
}

// markAt is table i's length at the mark (0 before any mark).
func (b *writeBuffer) markAt(i int) int {
	if b.mark == nil {
		return 0
	}
	return b.mark[i]
}

// begin marks where the next write's rows start.
func (b *writeBuffer) begin() {
	ts := b.tables()
	if b.mark == nil {
		b.mark = make([]int, len(ts))
	}
	for i, t := range ts {
		b.mark[i] = t.size()
	}
	b.dirty = false
}

// discard drops the rows the running write added since begin; it is only
// right while none of them has been flushed.
func (b *writeBuffer) discard() {
	for i, t := range b.tables() {
		t.cut(b.markAt(i))
	}
}

// wrote notes that the running write changed the database itself; a
// search's detached buffer refuses it.
func (b *writeBuffer) wrote() error {
	b.dirty = true
	if b.detached {
		return errDetachedWrite
	}
	return nil
}

// flush writes every buffered row, table by table, in an order that keeps
// references whole and lets a registration's old index rows end before its
// new ones start.
func (b *writeBuffer) flush() error {
	if b.empty() {
		return b.send()
	}
	if b.grown() {
		b.dirty = true
	}
	steps := []func() error{b.flushEvents, b.flushRegistrations, b.flushParties, b.flushItems, b.flushNotifications, b.flushWatchMatches, b.flushSearches, b.flushKeys, b.flushAudits, b.flushStats}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	if err := b.send(); err != nil {
		return err
	}
	for i, t := range b.tables() {
		t.cut(0)
		if b.mark != nil {
			b.mark[i] = 0
		}
	}
	return nil
}

// build turns every buffered row but the audit entries into the statements
// the next send writes, so that a batch prepared ahead of the head
// (ahead.go) has only its audit entries left to chain once it holds the
// head. The statistics come before the audit entries here, which no
// reference between the tables minds.
func (b *writeBuffer) build() error {
	steps := []func() error{b.flushEvents, b.flushRegistrations, b.flushParties, b.flushItems, b.flushNotifications, b.flushWatchMatches, b.flushSearches, b.flushKeys, b.flushStats}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	audits := b.audits
	for _, t := range b.tables() {
		t.cut(0)
	}
	b.audits, b.mark = audits, nil
	return nil
}
