package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"maps"

	"gorm.io/gorm"

	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/translog"
)

// Batches prepared ahead of the head. While one batch holds the register's
// head at the database (its rows sent, PostgreSQL inserting them, its
// commit written), the sequencer's loop already runs the next batch's
// writes: stamped from where the batch before will leave the head (the
// forecast), their records, states, log hashes and rows built, each table's
// rows made into its one statement. Under the head that batch then only
// checks that the head is where it was forecast, chains its audit entries
// onto the audit head, and sends its rows, the head's new state and COMMIT
// in one message. One goroutine (commitLoop) takes the prepared batches in
// order, one at a time, so that the order of the register is the loop's.
//
// A batch is prepared only when every one of its writes succeeds without
// the database: a write that reads (an amendment reads its registration, a
// keyed write looks for its Idempotency-Key), that writes directly, or that
// fails, makes the whole batch run as before, holding the head throughout
// (together). So does a batch whose forecast proved wrong (a batch before it
// rolled back or was rerun, another instance took the head, the server
// changed): everything prepared on that forecast runs again under the head,
// from what the head really holds, and the loop forecasts again only from a
// batch that ran there with nothing else in flight. Every guarantee of a
// batch that holds the head throughout holds for a prepared one: its stamps
// are checked against the head before anything is written, its rows, audit
// entries and log leaves commit in one transaction, and its writes are
// answered only after the flush barrier (durable.go).

// errNeedsHead fails a write in a batch prepared ahead of the head that
// reads or writes the database itself.
var errNeedsHead = errors.New("the write needs the register's head: it reads or writes the database")

// errMissed turns back a prepared batch whose forecast was wrong.
var errMissed = errors.New("the register's head is not where the batch was prepared to follow it")

// forecastDepth bounds how many batches' log hashes a forecast keeps, for
// the batches after them, until they are known on disk and in the cache.
const forecastDepth = 8

// forecast is where the register's head will be once the batches handed to
// commitLoop have committed, if they do.
type forecast struct {
	valid bool
	// epoch is the sequencer's when the forecast was made: any batch that
	// does not commit as prepared moves it on, and with it every forecast
	// made before.
	epoch  int64
	head   head
	server int64
	// earlier are the log hashes of the last batches, newest last.
	earlier []map[int64]translog.Hash
}

// after is the forecast once a batch ending at end, with the log hashes
// pending, has committed too.
func (f forecast) after(end head, pending map[int64]translog.Hash) forecast {
	keep := f.earlier[max(0, len(f.earlier)-forecastDepth+1):]
	earlier := make([]map[int64]translog.Hash, 0, len(keep)+1)
	f.earlier = append(append(earlier, keep...), pending)
	f.head = end
	return f
}

// earlierHash looks a log hash up in the batches before a prepared one.
func earlierHash(earlier []map[int64]translog.Hash, id int64) (translog.Hash, bool) {
	for i := len(earlier) - 1; i >= 0; i-- {
		if h, ok := earlier[i][id]; ok {
			return h, true
		}
	}
	return translog.Hash{}, false
}

// prepared is a batch made ready ahead of the head.
type prepared struct {
	writes, searches []*request
	basis            forecast
	end              head
	stamps           []registry.Stamp
	errs             []error
	buf              *writeBuffer
	pending          map[int64]translog.Hash
}

// noDatabase is a connector that never connects: the handle a prepared
// write's view has, so that a statement that bypasses the buffer's checks
// fails all the same.
type noDatabase struct{}

func (noDatabase) Connect(context.Context) (driver.Conn, error) { return nil, errNeedsHead }
func (noDatabase) Driver() driver.Driver                        { return nil }

// aheadDB is the statement handle of prepared writes' views.
func (s *Store) aheadDB() *gorm.DB {
	db := s.db.Session(&gorm.Session{NewDB: true, Context: context.Background()})
	db.Statement.ConnPool = sql.OpenDB(noDatabase{})
	return db
}

// prepare runs a batch's writes on the forecast, without the database; ok
// is false when one of them needs the database or fails.
func (q *sequencer) prepare(writes, searches []*request, fc forecast) (p *prepared, ok bool) {
	s := q.store
	h := fc.head
	p = &prepared{writes: writes, searches: searches, basis: fc, stamps: make([]registry.Stamp, len(searches)),
		errs: make([]error, len(writes)), pending: map[int64]translog.Hash{}}
	for k := range p.stamps {
		p.stamps[k] = h.next(s.now(), registry.StampSearchAsOf)
	}
	buf := &writeBuffer{ctx: context.Background(), shared: true, ahead: true}
	if q.aheadDB == nil {
		q.aheadDB = s.aheadDB()
	}
	for i, r := range writes {
		if err := r.ctx.Err(); err != nil {
			p.errs[i] = err
			continue
		}
		view := s.batchView(q.aheadDB, buf, p.pending)
		view.earlier, view.batchCtx = fc.earlier, context.Background()
		buf.begin()
		if err := r.val.fn(view, h.next(s.now(), r.val.kind)); err != nil || buf.needHead || buf.dirty {
			return nil, false
		}
		maps.Copy(p.pending, view.written)
	}
	if err := buf.build(); err != nil {
		return nil, false
	}
	p.end, p.buf = h, buf
	return p, true
}

// commitPrepared writes a prepared batch under the head, if the head is
// where it was forecast; errMissed says it was not, and nothing was written.
func (q *sequencer) commitPrepared(p *prepared) (batchResult, error) {
	if p.basis.epoch != q.epoch.Load() {
		return batchResult{}, errMissed
	}
	s := q.store
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	btx, err := s.beginBatch(ctx)
	if err != nil {
		return batchResult{}, err
	}
	defer btx.end()
	h, want := btx.head, p.basis.head
	if btx.server != p.basis.server || h.Seq != want.Seq || h.LogSize != want.LogSize || !h.LastAt.Equal(want.LastAt) {
		return batchResult{}, errMissed
	}
	q.onServer(btx.server)
	buf := p.buf
	buf.tx, buf.ctx, buf.ahead = btx.db, ctx, false
	buf.auditRead, buf.auditSeq, buf.auditHash = true, btx.auditSeq, btx.auditHash
	if p.end != want {
		buf.queue("UPDATE register_head SET seq = $1, log_size = $2, last_at = $3", p.end.Seq, p.end.LogSize, p.end.LastAt)
	}
	if err := btx.commit(buf); err != nil {
		return batchResult{}, err
	}
	return q.result(p.stamps, p.errs, btx.server, p.end, p.pending, buf.names), nil
}

// commitLoop commits the prepared batches in the order the loop prepared
// them, and answers their writes as run does.
func (q *sequencer) commitLoop() {
	defer close(q.commitsDone)
	for p := range q.commits {
		res, err := q.commitPrepared(p)
		if err == nil {
			q.ahead.WithLabelValues("prepared").Inc()
		} else {
			// Whatever was forecast after this batch is wrong now.
			q.epoch.Add(1)
			if errors.Is(err, errMissed) {
				q.ahead.WithLabelValues("missed").Inc()
				res, err = q.together(p.writes, len(p.searches))
			}
		}
		q.finish(p.writes, p.searches, res, err)
		q.inflight.Done()
	}
}
