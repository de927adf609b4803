package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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
	// auditSeq and auditHash are the audit chain's head.
	auditSeq  int64
	auditHash []byte
	// earlier are the log hashes of the last batches, newest last.
	earlier []map[int64]translog.Hash
}

// after is the forecast once prepared batch p has committed too.
func (f forecast) after(p *prepared) forecast {
	keep := f.earlier[max(0, len(f.earlier)-forecastDepth+1):]
	earlier := make([]map[int64]translog.Hash, 0, len(keep)+1)
	f.earlier = append(append(earlier, keep...), p.pending)
	f.head, f.auditSeq, f.auditHash = p.end, p.auditSeq, p.auditHash
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
	// auditSeq and auditHash are the audit chain's head after the batch.
	auditSeq  int64
	auditHash []byte
	// statements are the whole transaction, BEGIN to COMMIT.
	statements []statement
}

// noDatabase is a connector that never connects: the handle a prepared
// write's view has, so that a statement that bypasses the buffer's checks
// fails all the same.
type noDatabase struct{}

func (noDatabase) Connect(context.Context) (driver.Conn, error) { return nil, errNeedsHead }
func (noDatabase) Driver() driver.Driver                        { return nil }

// aheadDB is the statement handle of prepared writes' views, on pool
// (which never connects).
func (s *Store) aheadDB(pool *sql.DB) *gorm.DB {
	db := s.db.Session(&gorm.Session{NewDB: true, Context: context.Background()})
	db.Statement.ConnPool = pool
	return db
}

// prepare runs a batch's writes on the forecast, without the database; ok
// is false when one of them needs the database or fails.
func (q *sequencer) prepare(writes, searches []*request, fc forecast) (p *prepared, ok bool) {
	s := q.store
	start := time.Now()
	h := fc.head
	p = &prepared{writes: writes, searches: searches, basis: fc, stamps: make([]registry.Stamp, len(searches)),
		errs: make([]error, len(writes)), pending: map[int64]translog.Hash{}}
	for k := range p.stamps {
		p.stamps[k] = h.next(s.now(), registry.StampSearchAsOf)
	}
	buf := &writeBuffer{ctx: context.Background(), shared: true, ahead: true}
	if q.aheadDB == nil {
		q.aheadPool = sql.OpenDB(noDatabase{})
		q.aheadDB = s.aheadDB(q.aheadPool)
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
	p.statements = []statement{{query: "BEGIN"}, {query: "SET LOCAL synchronous_commit TO off"},
		{query: headMovesSQL, args: []any{h.Seq, h.LogSize, h.LastAt, fc.head.Seq, fc.head.LogSize, fc.head.LastAt, fc.server}}}
	p.auditSeq, p.auditHash = fc.auditSeq, fc.auditHash
	if len(buf.audits) > 0 {
		args, seq, hash := auditArgs(buf.audits, fc.auditSeq, fc.auditHash)
		p.statements = append(p.statements, statement{query: auditMovesSQL, args: append(args, seq, hash, fc.auditSeq, fc.auditHash)})
		p.auditSeq, p.auditHash = seq, hash
	}
	p.statements = append(append(p.statements, buf.queued...), statement{query: "COMMIT"})
	q.steps.WithLabelValues("prepare").Observe(time.Since(start).Seconds())
	return p, true
}

// headMovesSQL moves the register's head on from where the batch was
// prepared to follow it ($4-$6, on the server that started at $7) to where
// it leaves it ($1-$3). Taking the row waits for the batch before to commit;
// a head elsewhere fails the statement, and with it the transaction, with
// headMoved in its message (the cast fails only then).
const headMovesSQL = `WITH h AS (UPDATE register_head SET seq = $1, log_size = $2, last_at = $3
		WHERE seq = $4 AND log_size = $5 AND last_at = $6 AND (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint = $7 RETURNING 1)
	SELECT CASE WHEN count(*) = 1 THEN 1 ELSE ('` + headMoved + ` ' || count(*))::int END FROM h`

// auditMovesSQL appends the batch's audit entries, chained in advance, if
// the audit chain's head is still where the batch was prepared to follow it
// ($15, $16), and fails as headMovesSQL does otherwise.
var auditMovesSQL = `WITH head AS (UPDATE audit_head SET seq = $13, hash = $14 WHERE seq = $15 AND hash = $16 RETURNING 1),
	moved AS (SELECT CASE WHEN count(*) = 1 THEN true ELSE ('` + headMoved + ` ' || count(*))::bool END AS ok FROM head)
	INSERT INTO audit_entries (id, chain, at, actor, user_id, organization_id, action, target, outcome, source, request_id, detail)
	SELECT e.* FROM (` + auditsFrom(1) + `) e, moved WHERE moved.ok`

// headMoved marks the error of a prepared batch whose forecast was wrong.
const headMoved = "the head moved:"

// commitPrepared writes a prepared batch in one message: BEGIN, the head
// moved on if it is where it was forecast, the audit entries chained on, the
// rows, COMMIT. errMissed says the head was elsewhere, and nothing was
// written.
func (q *sequencer) commitPrepared(p *prepared) (batchResult, error) {
	if p.basis.epoch != q.epoch.Load() {
		return batchResult{}, errMissed
	}
	s := q.store
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	sqlDB, err := s.db.DB()
	if err != nil {
		return batchResult{}, err
	}
	start := time.Now()
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return batchResult{}, translate(err)
	}
	defer conn.Close()
	committed := false
	err = withPgx(conn, func(pc *pgx.Conn) error {
		batch := &pgx.Batch{}
		for _, st := range p.statements {
			batch.Queue(st.query, st.args...)
		}
		br := pc.SendBatch(ctx, batch)
		defer br.Close()
		for _, st := range p.statements {
			tag, err := br.Exec()
			if err != nil {
				return err
			}
			if st.query == "COMMIT" {
				if tag.String() != "COMMIT" {
					return errors.New("the batch's transaction was rolled back")
				}
				committed = true
			}
		}
		return br.Close()
	})
	if !committed {
		rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
		if _, rerr := conn.ExecContext(rctx, "ROLLBACK"); rerr != nil {
			discard(conn)
		}
		rcancel()
	}
	// Once COMMIT has answered, the batch is committed, whatever closing
	// the pipeline says.
	if err != nil && !committed {
		var pg *pgconn.PgError
		if errors.As(err, &pg) && strings.Contains(pg.Message, headMoved) {
			return batchResult{}, errMissed
		}
		return batchResult{}, fmt.Errorf("batch write: %w", translate(err))
	}
	q.steps.WithLabelValues("head").Observe(time.Since(start).Seconds())
	q.onServer(p.basis.server)
	res := q.result(p.stamps, p.errs, p.basis.server, p.end, p.pending, p.buf.names)
	res.auditSeq, res.auditHash = p.auditSeq, p.auditHash
	return res, nil
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
