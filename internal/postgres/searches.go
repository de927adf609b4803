package postgres

import (
	"context"
	"database/sql/driver"
	"sync"
	"time"

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
	if q.stampConn == nil {
		sqlDB, err := q.store.db.DB()
		if err != nil {
			return nil, err
		}
		conn, err := sqlDB.Conn(ctx)
		if err != nil {
			return nil, translate(err)
		}
		q.stampConn = conn
		if _, err := conn.ExecContext(ctx, "SET synchronous_commit TO OFF"); err != nil {
			q.dropStampConn()
			return nil, translate(err)
		}
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
		buf := &writeBuffer{ctx: r.ctx, detached: true}
		err := r.fn(q.store.batchView(q.store.db, buf, nil), st)
		<-q.readers
		if err != nil {
			r.done <- err
			return
		}
		q.appender.add(&appended{done: r.done, searches: buf.searches, audits: buf.audits})
	}()
}

// appended is a finished search's rows and the answer it waits for.
type appended struct {
	done     chan error
	searches []searchRow
	audits   []audit.Entry
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
	start    sync.Once
	mu       sync.Mutex
	closed   bool
	stopped  chan struct{}
}

func newAppender(s *Store, maxBatch int) *appender {
	return &appender{store: s, queue: make(chan *appended, 4*maxBatch), maxBatch: maxBatch, stopped: make(chan struct{})}
}

func (a *appender) add(x *appended) {
	a.start.Do(func() { go a.loop() })
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		x.done <- errClosed
		return
	}
	a.queue <- x
}

func (a *appender) close() {
	a.start.Do(func() { go a.loop() })
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
			matches, viewer_uscc, viewer_staff)
		` + searchesFrom(5) + ` WHERE EXISTS (SELECT 1 FROM head))
	INSERT INTO audit_entries (id, chain, at, actor, user_id, organization_id, action, target, outcome, source, request_id, detail)
	` + auditsFrom(18) + ` WHERE EXISTS (SELECT 1 FROM head)`

// write appends the rows of searches. The audit chain's head is kept from
// the last append and checked as it is moved on; when another writer (a
// batch of events, another instance) has moved it meanwhile, it is read
// again and the append tried again.
func (a *appender) write(batch []*appended) error {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	var rows []searchRow
	var audits []audit.Entry
	for _, x := range batch {
		rows = append(rows, x.searches...)
		audits = append(audits, x.audits...)
	}
	if len(audits) == 0 {
		return a.writeInTx(ctx, rows, audits)
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
		res, err := sqlDB.ExecContext(ctx, appendSQL, append(all, args...)...)
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
	return a.writeInTx(ctx, rows, audits)
}

// writeInTx appends rows in a transaction that locks the audit chain's head.
func (a *appender) writeInTx(ctx context.Context, rows []searchRow, audits []audit.Entry) error {
	a.headHash = nil
	return translate(a.store.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		buf := &writeBuffer{tx: tx, ctx: ctx, searches: rows, audits: audits}
		return buf.flush()
	}))
}
