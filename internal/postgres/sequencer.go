package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/movable-registry/registry/internal/names"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/identifiers"
	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/translog"
)

// The sequencer turns concurrent writes into batches. One goroutine takes
// the writes waiting in its queue (up to a batch size, waiting a little for
// more when configured) and runs them one after another in one transaction
// that holds the register's head row: each gets the next number, time and
// log position, and its rows are buffered and written table by table. The
// batch commits once, and only then is each write answered. While it
// commits, the next batch gathers.
//
// A write that fails on its own (a refusal, a conflict found by reading)
// gives back its stamp and its buffered rows, and the rest of the batch goes
// on. Where a failure cannot be taken back alone (a statement failed and the
// transaction with it, the write had changed the database itself, or the
// commit failed), the batch is rolled back and each of its writes is run
// again in a transaction of its own, so that one bad write never fails its
// neighbours.
//
// Searches that read only as of their stamps are stamped first in their
// batch and run after it has committed, outside it (searches.go).

// Option configures the sequencer.
type Option func(*sequencer)

// ListenOn gives the similar names' listener a connection of its own to
// dsn, outside the pool: a listener holds its connection for good, and a
// small pool would be one the less for requests.
func ListenOn(dsn string) Option { return func(q *sequencer) { q.store.listenDSN = dsn } }

// MaxBatch bounds how many writes share a transaction (default 256).
func MaxBatch(n int) Option {
	return func(q *sequencer) {
		if n > 0 {
			q.maxBatch = n
		}
	}
}

// MaxWait is how long a batch that is not full waits for more writes once
// the queue is empty (default 0: a batch takes what is waiting, and the
// writes that arrive while it commits form the next).
func MaxWait(d time.Duration) Option {
	return func(q *sequencer) {
		if d > 0 {
			q.maxWait = d
		}
	}
}

// HoldHead makes every batch run under the register's head throughout, as
// before batches were prepared ahead of it (ahead.go): for comparison.
func HoldHead() Option { return func(q *sequencer) { q.holdHead = true } }

// errClosed answers writes that come after Close.
var errClosed = errors.New("the register's sequencer is closed")

// batchTimeout bounds one batch's transaction.
const batchTimeout = 30 * time.Second

// job is a write, or a search stamped in a batch, as the sequencer's queue
// holds it.
type job struct {
	kind registry.StampKind
	fn   func(registry.Tx, registry.Stamp) error
}

// request is a job waiting in the queue, with its caller's context and
// where its answer goes.
type request = call[job]

type sequencer struct {
	store *Store
	// queue gathers the jobs into batches for run (queue.go).
	queue    *batchQueue[job]
	maxBatch int
	maxWait  time.Duration

	// Stamped searches being read, a bound on how many at once, and the
	// writer of their rows.
	searching sync.WaitGroup
	readers   chan struct{}
	appender  *appender
	// stampConn stamps searches alone (the loop's own connection).
	stampConn *sql.Conn

	batchSize *prometheus.HistogramVec
	reruns    prometheus.Counter
	// ahead counts batches by how they met the head (ahead.go): prepared
	// and committed as prepared, missed (prepared on a wrong forecast and
	// run again under the head), or run under the head throughout.
	ahead *prometheus.CounterVec
	// steps times a batch's steps: prepare (its writes run ahead of the
	// head) and head (from taking the head to its commit's answer, the
	// writes' own code included when the batch runs under the head).
	steps *prometheus.HistogramVec

	// committed is the log size after this instance's last commit: what a
	// read on a replica must see for a client to read its own writes.
	committed atomic.Int64
	// server is when the database server the last write ran on started:
	// another (a failover, a restart) may lack what this process
	// remembers of the log, which it then forgets.
	server atomic.Int64
	// durable answers a batch's writes once its commit is on disk.
	durable *durable

	// Batches prepared ahead of the head (ahead.go): the loop's forecast
	// and its statement handle, the prepared batches on their way to
	// commitLoop (one at a time), those not yet answered, and the epoch
	// that a batch not committed as prepared moves on.
	fc          forecast
	holdHead    bool
	aheadDB     *gorm.DB
	aheadPool   *sql.DB
	commits     chan *prepared
	commitsDone chan struct{}
	inflight    sync.WaitGroup
	epoch       atomic.Int64
}

func newSequencer(s *Store, opts ...Option) *sequencer {
	q := &sequencer{store: s, maxBatch: 256,
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "registry_sequencer_batch_writes",
			Help:    "Writes per sequencer transaction, by how the batch ended (committed, rerun).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		}, []string{"outcome"}),
		reruns: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "registry_sequencer_reruns_total",
			Help: "Writes run again alone because their batch could not commit as a whole.",
		}),
		ahead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "registry_sequencer_batches_total",
			Help: "Sequencer batches of writes by how they met the register's head: prepared ahead of it and committed as prepared, missed (prepared, then run again under the head), or held (run under the head throughout).",
		}, []string{"path"}),
		steps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "registry_sequencer_step_seconds",
			Help:    "Time a sequencer batch of writes spends preparing ahead of the register's head (prepare) and holding it (head).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"step"}),
	}
	for _, o := range opts {
		o(q)
	}
	q.readers = make(chan struct{}, parallelSearches)
	q.appender = newAppender(s, q.maxBatch)
	q.durable = newDurable(s)
	q.commits, q.commitsDone = make(chan *prepared), make(chan struct{})
	go q.commitLoop()
	q.queue = newBatchQueue(q.maxBatch, q.maxWait, q.run)
	return q
}

// Collectors are the sequencer's metrics and the similar-names index's size.
func (s *Store) Collectors() []prometheus.Collector {
	var rs []prometheus.Collector
	if s.replicas != nil {
		rs = s.replicas.collectors()
	}
	return append(rs, s.seq.batchSize, s.seq.reruns, s.seq.ahead, s.seq.steps, newBackupCollector(s.db),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "registry_similar_names",
			Help: "Grantor names in this instance's similar-names index.",
		}, func() float64 { return float64(s.similar.idx.Stats().Names) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "registry_similar_names_bytes",
			Help: "Memory the similar-names index holds: names, entries and posting runs.",
		}, func() float64 { return float64(s.similar.idx.Stats().Bytes) }),
	)
}

// do queues a write and waits for its answer, which comes after its batch
// has committed or rolled back.
func (q *sequencer) do(ctx context.Context, kind registry.StampKind, fn func(registry.Tx, registry.Stamp) error) error {
	return q.queue.do(ctx, job{kind: kind, fn: fn})
}

// close stops the sequencer's goroutines, each after those that hand it
// work: the queue (after the writes queued), the committer (after the
// batches prepared), the durable loop (after the batches committed), the
// stamped searches, the appender (after the searches' rows), and the
// stamping connection.
func (q *sequencer) close() {
	q.queue.close()
	close(q.commits)
	<-q.commitsDone
	if q.aheadPool != nil {
		q.aheadPool.Close()
	}
	q.durable.close()
	q.searching.Wait()
	q.appender.close()
	q.dropStampConn()
}

// run runs one batch and answers each of its writes. Searches that read
// only as of their stamps are only stamped in the batch; once it has
// committed (and with it every event before their stamps), each runs on the
// committed register and its rows are appended (searches.go).
//
// While the forecast holds, a batch is prepared here and handed to
// commitLoop, which commits it once the batch before has (ahead.go);
// otherwise, once nothing is in flight, it runs holding the head throughout.
func (q *sequencer) run(batch []*request) error {
	var searches, writes []*request
	for _, r := range batch {
		if r.val.kind == registry.StampSearchAsOf {
			searches = append(searches, r)
		} else {
			writes = append(writes, r)
		}
	}
	if q.fc.valid && q.fc.epoch != q.epoch.Load() {
		q.fc.valid = false
	}
	if q.fc.valid && !q.holdHead && len(writes) > 0 {
		if p, ok := q.prepare(writes, searches, q.fc); ok {
			q.fc = q.fc.after(p)
			q.inflight.Add(1)
			q.commits <- p
			return nil
		}
	}
	q.inflight.Wait()
	q.fc.valid = false
	if len(searches) == 0 && len(writes) == 1 {
		writes[0].answer(q.alone(writes[0]))
		q.batchSize.WithLabelValues("committed").Observe(1)
		return nil
	}
	if len(writes) == 0 {
		stamps, err := q.stampSearches(len(searches))
		if err != nil {
			// The queue answers every search with it.
			return err
		}
		q.batchSize.WithLabelValues("committed").Observe(float64(len(searches)))
		for i, r := range searches {
			q.search(r, stamps[i])
		}
		return nil
	}
	q.ahead.WithLabelValues("held").Inc()
	res, err := q.together(writes, len(searches))
	if err == nil {
		// Nothing else is in flight: the next batch may follow this one.
		q.fc = forecast{valid: true, epoch: q.epoch.Load(), head: res.end, server: res.server,
			auditSeq: res.auditSeq, auditHash: res.auditHash, earlier: []map[int64]translog.Hash{res.pending}}
	}
	q.finish(writes, searches, res, err)
	return nil
}

// finish answers a batch's writes once it has committed (through durable,
// once it is on disk), or runs each alone if it could not commit as a
// whole; then it reads the batch's stamped searches.
func (q *sequencer) finish(writes, searches []*request, res batchResult, err error) {
	stamps := res.stamps
	if err != nil {
		q.batchSize.WithLabelValues("rerun").Observe(float64(len(writes) + len(searches)))
		q.reruns.Add(float64(len(writes)))
		for _, r := range writes {
			r.answer(q.alone(r))
		}
		if len(searches) > 0 {
			if stamps, err = q.stampSearches(len(searches)); err != nil {
				for _, r := range searches {
					r.answer(err)
				}
				return
			}
		}
	} else {
		q.batchSize.WithLabelValues("committed").Observe(float64(len(writes) + len(searches)))
		// Committed, but not yet known to be on disk: answered once it is.
		q.durable.add(writes, res)
	}
	for i, r := range searches {
		q.search(r, stamps[i])
	}
}

// head is the register_head row: the last number's sequence, the log's
// size and the last time handed out.
type head struct {
	Seq     int64
	LogSize int64
	LastAt  time.Time
	// Server is when the server started (read by lockHead only).
	Server int64
}

func lockHead(tx *gorm.DB) (head, error) {
	var h head
	err := tx.Raw(`SELECT seq, log_size, last_at, (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint AS server
		FROM register_head FOR UPDATE`).Scan(&h).Error
	return h, err
}

// onServer notes the server a write runs on; on another than before, the
// log's hashes this process cached are forgotten before any is read.
func (q *sequencer) onServer(server int64) {
	if prev := q.server.Swap(server); prev != 0 && prev != server {
		q.store.hashes.reset()
	}
}

func (h head) save(tx *gorm.DB) error {
	return tx.Exec("UPDATE register_head SET seq = ?, log_size = ?, last_at = ?", h.Seq, h.LogSize, h.LastAt).Error
}

// next stamps a write: the next number, a time later than every earlier
// write's, and for an event the next log position.
func (h *head) next(now time.Time, kind registry.StampKind) registry.Stamp {
	at := now.UTC().Truncate(time.Microsecond)
	if !at.After(h.LastAt) {
		at = h.LastAt.Add(time.Microsecond)
	}
	h.Seq++
	h.LastAt = at
	st := registry.Stamp{Number: registry.FormatNumber(at, h.Seq), At: at, LogIndex: -1, LogSize: h.LogSize}
	if kind == registry.StampEvent {
		st.LogIndex = h.LogSize
		h.LogSize++
		st.LogSize = h.LogSize
	}
	return st
}

// alone runs one write in a transaction of its own, writing as it goes.
func (q *sequencer) alone(r *request) error {
	s := q.store
	var end int64
	err := s.transaction(r.ctx, func(view *Store) error {
		h, err := lockHead(view.db)
		if err != nil {
			return err
		}
		q.onServer(h.Server)
		st := h.next(s.now(), r.val.kind)
		if err := h.save(view.db); err != nil {
			return err
		}
		end = h.LogSize
		return r.val.fn(view, st)
	})
	if err == nil {
		q.reached(end)
	}
	return err
}

// reached records a log size this instance committed.
func (q *sequencer) reached(size int64) { raise(&q.committed, size) }

// errRerun rolls a batch back so that its writes run alone.
var errRerun = errors.New("the batch must run its writes alone")

// batchResult is what a batch that committed gives back: the stamps of its
// searches (the first of the batch's), each write's own error, and when the
// server it committed on started. Once the batch is known to be on disk,
// durable must be called: it tells this process's memory what the batch
// wrote (its log hashes, names and log size). Before that, a crash of the
// database may still take the batch away, and with it hashes that later
// appends at the same positions would otherwise be computed from.
type batchResult struct {
	stamps  []registry.Stamp
	errs    []error
	durable func()
	server  int64
	// end is the head the batch left, and pending the log hashes it added;
	// auditSeq and auditHash are the audit chain's head it left.
	end       head
	pending   map[int64]translog.Hash
	auditSeq  int64
	auditHash []byte
}

// result is what a batch that committed gives back (batchResult).
func (q *sequencer) result(stamps []registry.Stamp, errs []error, server int64, end head, pending map[int64]translog.Hash, names []grantorName) batchResult {
	s := q.store
	return batchResult{stamps: stamps, errs: errs, server: server, end: end, pending: pending, durable: func() {
		q.reached(end.LogSize)
		if q.server.Load() == server {
			s.hashes.add(pending)
		}
		s.similar.added(names)
	}}
}

// together stamps the batch's searches and runs its writes in one
// transaction with buffered rows. An error of its own means none was
// committed. (A batch of searches alone is stamped by stampSearches.)
func (q *sequencer) together(batch []*request, searches int) (res batchResult, err error) {
	s := q.store
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	errs := make([]error, len(batch))
	stamps := make([]registry.Stamp, searches)
	var server int64
	pending := map[int64]translog.Hash{}
	var names []grantorName
	var end head
	var auditSeq int64
	var auditHash []byte
	// On a connection of its own, in three round trips (batchtx.go).
	start := time.Now()
	err = func() error {
		btx, err := s.beginBatch(ctx)
		if err != nil {
			return err
		}
		defer btx.end()
		tx, h := btx.db, btx.head
		server = btx.server
		q.onServer(server)
		start := h
		for k := range stamps {
			stamps[k] = h.next(s.now(), registry.StampSearchAsOf)
		}
		buf := btx.buffer(ctx)
		for i, r := range batch {
			if err := r.ctx.Err(); err != nil {
				errs[i] = err
				continue
			}
			view := s.batchView(tx, buf, pending)
			view.batchCtx = ctx
			buf.begin()
			before := h
			err := r.val.fn(view, h.next(s.now(), r.val.kind))
			if err == nil {
				maps.Copy(pending, view.written)
				continue
			}
			if buf.dirty {
				return errRerun
			}
			// A statement that failed has ended the transaction with it.
			if tx.Exec("SELECT 1").Error != nil {
				return errRerun
			}
			buf.discard()
			h, errs[i] = before, err
		}
		end = h
		if h != start {
			buf.queue("UPDATE register_head SET seq = $1, log_size = $2, last_at = $3", h.Seq, h.LogSize, h.LastAt)
		}
		if err := btx.commit(buf); err != nil {
			return err
		}
		names = buf.names
		auditSeq, auditHash = buf.auditSeq, buf.auditHash
		return nil
	}()
	if err != nil {
		return batchResult{}, err
	}
	q.steps.WithLabelValues("head").Observe(time.Since(start).Seconds())
	res = q.result(stamps, errs, server, end, pending, names)
	res.auditSeq, res.auditHash = auditSeq, auditHash
	return res, nil
}

// batchView is the store as one write of a batch sees it: statements on db,
// rows into buf, and the log hashes the batch's earlier writes added.
func (s *Store) batchView(db *gorm.DB, buf *writeBuffer, pending map[int64]translog.Hash) *Store {
	v := s.with(db)
	v.pending, v.buf = pending, buf
	return v
}

// exec runs one statement on the transaction's connection, with its arrays
// passed to pgx as they are (GORM would expand a slice into a list).
func (b *writeBuffer) exec(query string, args ...any) error {
	b.queue(query, args...)
	return nil
}

// statement is a write queued until the buffer is sent.
type statement struct {
	query string
	args  []any
}

// queue adds a statement to what the next send writes.
func (b *writeBuffer) queue(query string, args ...any) {
	b.queued = append(b.queued, statement{query: query, args: args})
}

// send writes the queued statements: on a connection of the batch's own,
// all in one round trip (pgx's pipelined batch), else one by one.
func (b *writeBuffer) send() error {
	q := b.queued
	b.queued = nil
	if b.commit {
		q = append(q, statement{query: "COMMIT"})
	}
	if len(q) == 0 {
		return nil
	}
	if conn, ok := b.tx.Statement.ConnPool.(*sql.Conn); ok && (len(q) > 1 || b.commit) {
		err := withPgx(conn, func(pc *pgx.Conn) error {
			batch := &pgx.Batch{}
			for _, st := range q {
				batch.Queue(st.query, st.args...)
			}
			br := pc.SendBatch(b.ctx, batch)
			for _, st := range q {
				tag, err := br.Exec()
				if err != nil {
					_ = br.Close()
					return err
				}
				if st.query == "COMMIT" && tag.String() != "COMMIT" {
					_ = br.Close()
					return errors.New("the batch's transaction was rolled back")
				}
			}
			return br.Close()
		})
		if err != nil {
			return fmt.Errorf("batch write: %w", translate(err))
		}
		return nil
	}
	for _, st := range q {
		if _, err := b.tx.Statement.ConnPool.ExecContext(b.ctx, st.query, st.args...); err != nil {
			return fmt.Errorf("batch write: %w", translate(err))
		}
	}
	return nil
}

func (b *writeBuffer) flushEvents() error {
	if len(b.events) > 0 {
		n := len(b.events)
		idx, num, reg, typ := make([]int64, n), make([]string, n), make([]string, n), make([]string, n)
		at, org, user, rec := make([]time.Time, n), make([]*string, n), make([]*string, n), make([][]byte, n)
		leaf, open := make([][]byte, n), make([]*string, n)
		for i, e := range b.events {
			idx[i], num[i], reg[i], typ[i], at[i], org[i], user[i], rec[i] = e.LogIndex, e.Number, e.RegistrationNumber, e.Type, e.RegisteredAt, e.OrganizationID, e.UserID, e.Record
			if e.LogRecord != nil {
				leaf[i], open[i] = e.LogRecord, strPtr(string(e.Openings))
			}
		}
		if err := b.exec(`INSERT INTO events (log_index, number, registration_number, type, registered_at, organization_id, user_id, record, log_record, openings)
			SELECT i, n, r, t, a, o::uuid, u::uuid, rec, l, op::jsonb FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[], $8::bytea[], $9::bytea[], $10::text[])
			AS x(i, n, r, t, a, o, u, rec, l, op)`, idx, num, reg, typ, at, org, user, rec, leaf, open); err != nil {
			return err
		}
	}
	if len(b.hashIDs) > 0 {
		return b.exec("INSERT INTO log_hashes (id, hash) SELECT * FROM unnest($1::bigint[], $2::bytea[])", []int64(b.hashIDs), [][]byte(b.hashes))
	}
	return nil
}

func registrationArrays(rows []registrationRow) (num, kind []string, reg, exp []time.Time, ctrl []*string, uscc, status []string, ended []*time.Time, code [][]byte) {
	n := len(rows)
	num, kind, reg, exp, ctrl = make([]string, n), make([]string, n), make([]time.Time, n), make([]time.Time, n), make([]*string, n)
	uscc, status, ended, code = make([]string, n), make([]string, n), make([]*time.Time, n), make([][]byte, n)
	for i, r := range rows {
		num[i], kind[i], reg[i], exp[i], ctrl[i] = r.Number, r.Kind, r.RegisteredAt, r.ExpiresAt, r.ControllerID
		uscc[i], status[i], ended[i], code[i] = r.ControllerUSCC, r.Status, r.EndedAt, r.ModificationCodeHash
	}
	return
}

func (b *writeBuffer) flushRegistrations() error {
	if len(b.registrations) > 0 {
		num, kind, reg, exp, ctrl, uscc, status, ended, code := registrationArrays(b.registrations)
		if err := b.exec(`INSERT INTO registrations (number, kind, registered_at, expires_at, controller_id, controller_uscc, status, ended_at, modification_code_hash)
			SELECT n, k, r, e, c::uuid, u, s, en, h FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::bytea[])
			AS x(n, k, r, e, c, u, s, en, h)`, num, kind, reg, exp, ctrl, uscc, status, ended, code); err != nil {
			return err
		}
	}
	if len(b.updates) > 0 {
		num, _, _, exp, ctrl, uscc, status, ended, _ := registrationArrays(b.updates)
		if err := b.exec(`UPDATE registrations r SET expires_at = x.e, controller_id = x.c::uuid, controller_uscc = x.u, status = x.s, ended_at = x.en
			FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) AS x(n, e, c, u, s, en)
			WHERE r.number = x.n`, num, exp, ctrl, uscc, status, ended); err != nil {
			return err
		}
	}
	if len(b.codes) > 0 {
		num, _, _, _, _, _, _, _, code := registrationArrays(b.codes)
		return b.exec(`UPDATE registrations r SET modification_code_hash = x.h FROM unnest($1::text[], $2::bytea[]) AS x(n, h) WHERE r.number = x.n`, num, code)
	}
	return nil
}

func endArrays(ends []rowEnd) (num, id []string, at []time.Time) {
	num, id, at = make([]string, len(ends)), make([]string, len(ends)), make([]time.Time, len(ends))
	for i, e := range ends {
		num[i], id[i], at[i] = e.Number, e.ID, e.At
	}
	return
}

func (b *writeBuffer) flushParties() error {
	if len(b.partyEnds) > 0 {
		num, _, at := endArrays(b.partyEnds)
		if err := b.exec(`UPDATE parties p SET removed_at = x.a FROM unnest($1::text[], $2::timestamptz[]) AS x(n, a)
			WHERE p.registration_number = x.n AND p.removed_at IS NULL`, num, at); err != nil {
			return err
		}
	}
	if len(b.parties) == 0 {
		return nil
	}
	n := len(b.parties)
	reg, role, typ, name, key := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	ord, at := make([]int32, n), make([]time.Time, n)
	uscc, country, regNo, lei, idNo, addr := make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n)
	var names []string
	var nameKeys []string
	var firstAt []time.Time
	seen := map[string]bool{}
	for i, p := range b.parties {
		reg[i], role[i], ord[i], typ[i], name[i], key[i], at[i] = p.RegistrationNumber, p.Role, int32(p.Ord), p.Type, p.Name, p.NameKey, p.AddedAt
		uscc[i], country[i], regNo[i], lei[i], idNo[i], addr[i] = p.USCC, p.Country, p.RegistrationNo, p.LEI, p.IDNumber, p.Address
		if isGrantorName(p) && !seen[p.NameKey] {
			seen[p.NameKey] = true
			names, nameKeys, firstAt = append(names, p.Name), append(nameKeys, p.NameKey), append(firstAt, p.AddedAt)
		}
	}
	if err := b.exec(`INSERT INTO parties (registration_number, role, ord, type, name, name_key, uscc, country, registration_no, lei, id_number, address, added_at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::int4[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::timestamptz[])`,
		reg, role, ord, typ, name, key, uscc, country, regNo, lei, idNo, addr, at); err != nil {
		return err
	}
	if len(names) == 0 {
		return nil
	}
	if err := b.exec(`INSERT INTO grantor_names (name_key, name, first_at) SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
		ON CONFLICT (name_key) DO NOTHING`, nameKeys, names, firstAt); err != nil {
		return err
	}
	for i := range names {
		b.names = append(b.names, grantorName{Key: nameKeys[i], Name: names[i]})
	}
	return b.exec("SELECT pg_notify($1, '')", namesChannel)
}

// isGrantorName reports whether a party row's name goes into the similar
// names: organization grantors, current or former.
func isGrantorName(p partyRow) bool {
	return (p.Role == registry.RoleGrantor || p.Role == registry.RoleFormerGrantor) && p.NameKey != ""
}

func (b *writeBuffer) flushItems() error {
	if len(b.itemEnds) > 0 {
		num, id, at := endArrays(b.itemEnds)
		if err := b.exec(`UPDATE items i SET removed_at = x.a FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS x(n, id, a)
			WHERE i.registration_number = x.n AND i.id = x.id AND i.removed_at IS NULL`, num, id, at); err != nil {
			return err
		}
	}
	if len(b.items) == 0 {
		return nil
	}
	n := len(b.items)
	id, reg, typ, serial, key, desc := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	ord, at := make([]int32, n), make([]time.Time, n)
	for i, it := range b.items {
		id[i], reg[i], ord[i], typ[i], serial[i], key[i], desc[i], at[i] = it.ID, it.RegistrationNumber, int32(it.Ord), it.Type, it.SerialNumber, it.SerialKey, it.Description, it.RegisteredAt
	}
	return b.exec(`INSERT INTO items (id, registration_number, ord, type, serial_number, serial_key, description, registered_at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::int4[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])`,
		id, reg, ord, typ, serial, key, desc, at)
}

// flushKeys writes the batch's idempotency keys. Another instance may have
// claimed one meanwhile: the insert then fails, the batch is rerun, and the
// write alone finds the key and answers as a replay.
func (b *writeBuffer) flushKeys() error {
	if len(b.keys) == 0 {
		return nil
	}
	n := len(b.keys)
	ids, fps, resp, at, expired := make([][]byte, n), make([][]byte, n), make([][]byte, n), make([]time.Time, n), make([]time.Time, n)
	for i, k := range b.keys {
		ids[i], fps[i], resp[i], at[i], expired[i] = k.ID, k.Fingerprint, k.Response, k.CreatedAt, k.NotBefore
	}
	// An expired use of a key gives way; a live one still fails the insert.
	if err := b.exec(`DELETE FROM idempotency_keys k USING unnest($1::bytea[], $2::timestamptz[]) AS x(id, nb)
		WHERE k.id = x.id AND k.created_at < x.nb`, ids, expired); err != nil {
		return err
	}
	return b.exec("INSERT INTO idempotency_keys (id, fingerprint, response, created_at) SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::bytea[], $4::timestamptz[])", ids, fps, resp, at)
}

func (b *writeBuffer) flushSearches() error {
	if len(b.searches) == 0 {
		return nil
	}
	return b.exec(`INSERT INTO searches (number, searched_at, as_of, organization_id, user_id, criteria, include_inactive, register_position, result_count, body,
			matches, viewer_uscc, viewer_staff, individuals)
		`+searchesFrom(1), searchArgs(b.searches)...)
}

// searchesFrom selects search rows from 14 arrays numbered from first on.
func searchesFrom(first int) string {
	p := func(k int) string { return "$" + strconv.Itoa(first+k) }
	return `SELECT n, s, a, o::uuid, u::uuid, c::jsonb, i, p, rc, b, m, v, vs, string_to_array(ind, ' ') FROM unnest(` + p(0) + `::text[], ` + p(1) + `::timestamptz[], ` + p(2) + `::timestamptz[], ` +
		p(3) + `::text[], ` + p(4) + `::text[], ` + p(5) + `::text[], ` + p(6) + `::bool[], ` + p(7) + `::int8[], ` + p(8) + `::int4[], ` + p(9) + `::bytea[], ` +
		p(10) + `::text[], ` + p(11) + `::text[], ` + p(12) + `::bool[], ` + p(13) + `::text[]) AS x(n, s, a, o, u, c, i, p, rc, b, m, v, vs, ind)`
}

// searchArgs are search rows as 14 arrays, a column each.
func searchArgs(rows []searchRow) []any {
	n := len(rows)
	num, crit, searched, asOf := make([]string, n), make([]string, n), make([]time.Time, n), make([]time.Time, n)
	org, user, inactive, pos, count, body := make([]*string, n), make([]*string, n), make([]bool, n), make([]int64, n), make([]int32, n), make([][]byte, n)
	matches, viewer, staff, individuals := make([]*string, n), make([]*string, n), make([]bool, n), make([]*string, n)
	for i, s := range rows {
		num[i], crit[i], searched[i], asOf[i], org[i], user[i] = s.Number, s.Criteria, s.SearchedAt, s.AsOf, s.OrganizationID, s.UserID
		inactive[i], pos[i], count[i], body[i] = s.IncludeInactive, s.RegisterPosition, s.ResultCount, s.Body
		matches[i], viewer[i], staff[i], individuals[i] = s.Matches, s.ViewerUSCC, s.ViewerStaff, s.Individuals
	}
	return []any{num, searched, asOf, org, user, crit, inactive, pos, count, body, matches, viewer, staff, individuals}
}

// flushAudits appends the buffered audit entries to the chain, computing
// each link as the database does for a single entry (audit.Chain).
func (b *writeBuffer) flushAudits() error {
	if len(b.audits) == 0 {
		return nil
	}
	if !b.auditRead {
		var head struct {
			Seq  int64
			Hash []byte
		}
		if err := b.tx.WithContext(b.ctx).Raw("SELECT seq, hash FROM audit_head FOR UPDATE").Scan(&head).Error; err != nil {
			return translate(err)
		}
		b.auditRead, b.auditSeq, b.auditHash = true, head.Seq, head.Hash
	}
	args, seq, hash := auditArgs(b.audits, b.auditSeq, b.auditHash)
	if err := b.exec(`WITH head AS (UPDATE audit_head SET seq = $13, hash = $14)
		INSERT INTO audit_entries (id, chain, at, actor, user_id, organization_id, action, target, outcome, source, request_id, detail)
		`+auditsFrom(1), append(args, seq, hash)...); err != nil {
		return err
	}
	b.auditSeq, b.auditHash = seq, hash
	return nil
}

// auditsFrom selects audit rows from 12 arrays numbered from first on.
func auditsFrom(first int) string {
	p := func(k int) string { return "$" + strconv.Itoa(first+k) }
	return `SELECT i, c, a, ac, u::uuid, o::uuid, act, t, oc, s, r, d FROM unnest(` + p(0) + `::int8[], ` + p(1) + `::bytea[], ` + p(2) + `::timestamptz[], ` +
		p(3) + `::text[], ` + p(4) + `::text[], ` + p(5) + `::text[], ` + p(6) + `::text[], ` + p(7) + `::text[], ` + p(8) + `::text[], ` + p(9) + `::text[], ` +
		p(10) + `::text[], ` + p(11) + `::text[]) AS x(i, c, a, ac, u, o, act, t, oc, s, r, d)`
}

// auditArgs chains entries onto the head (seq, hash) and lays them out as
// 12 arrays; it returns the new head too.
func auditArgs(entries []audit.Entry, seq int64, hash []byte) ([]any, int64, []byte) {
	n := len(entries)
	id, chain, at := make([]int64, n), make([][]byte, n), make([]time.Time, n)
	actor, user, org, action, target, outcome, source, reqID, detail := make([]string, n), make([]*string, n), make([]*string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, e := range entries {
		seq++
		hash = audit.Chain(hash, seq, e)
		id[i], chain[i], at[i], actor[i], user[i], org[i] = seq, hash, e.At, string(e.Actor), strPtr(e.UserID), strPtr(e.OrganizationID)
		action[i], target[i], outcome[i], source[i], reqID[i], detail[i] = e.Action, e.Target, string(e.Outcome), e.Source, e.RequestID, e.Detail
	}
	return []any{id, chain, at, actor, user, org, action, target, outcome, source, reqID, detail}, seq, hash
}

// The store's views write through these: buffered inside a batch, at once
// otherwise.

func (s *Store) bufferEvent(e registry.EventRecord) error {
	row := eventRow{LogIndex: e.LogIndex, Number: e.Number, RegistrationNumber: e.RegistrationNumber,
		Type: e.Type, RegisteredAt: e.At, OrganizationID: strPtr(e.OrganizationID), UserID: strPtr(e.UserID), Record: e.Record}
	if e.LogRecord != nil {
		openings, err := json.Marshal(e.Openings)
		if err != nil {
			return err
		}
		row.LogRecord, row.Openings = e.LogRecord, openings
	}
	s.buf.events = append(s.buf.events, row)
	return nil
}

func (s *Store) bufferParties(number string, at time.Time, parties []registry.IndexedParty) {
	s.buf.partyEnds = append(s.buf.partyEnds, rowEnd{Number: number, At: at})
	s.buf.parties = append(s.buf.parties, partyRows(number, at, parties)...)
}

func partyRows(number string, at time.Time, parties []registry.IndexedParty) []partyRow {
	rows := make([]partyRow, len(parties))
	for i, p := range parties {
		key := ""
		if p.Type == "organization" {
			key = names.Normalize(p.Name).Key
		}
		rows[i] = partyRow{RegistrationNumber: number, Role: p.Role, Ord: i, Type: p.Type, Name: p.Name, NameKey: key,
			USCC: strPtr(p.USCC), Country: strPtr(p.Country), RegistrationNo: strPtr(p.RegistrationNumber),
			LEI: strPtr(p.LEI), IDNumber: strPtr(p.IDNumber), Address: strPtr(p.Address), AddedAt: at}
	}
	return rows
}

func itemRows(number string, items []registry.Item) []itemRow {
	rows := make([]itemRow, len(items))
	for i, it := range items {
		rows[i] = itemRow{ID: it.ID, RegistrationNumber: number, Ord: i, Type: it.Type, SerialNumber: it.SerialNumber,
			SerialKey: identifiers.SerialKey(it.SerialNumber), Description: it.Description, RegisteredAt: it.RegisteredAt.Time}
	}
	return rows
}
