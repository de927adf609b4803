package postgres

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

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

// errClosed answers writes that come after Close.
var errClosed = errors.New("the register's sequencer is closed")

// batchTimeout bounds one batch's transaction.
const batchTimeout = 30 * time.Second

type request struct {
	ctx  context.Context
	kind registry.StampKind
	fn   func(registry.Tx, registry.Stamp) error
	done chan error
}

type sequencer struct {
	store    *Store
	queue    chan *request
	maxBatch int
	maxWait  time.Duration

	start   sync.Once
	mu      sync.RWMutex
	closed  bool
	stopped chan struct{}

	// Stamped searches being read, a bound on how many at once, and the
	// writer of their rows.
	searching sync.WaitGroup
	readers   chan struct{}
	appender  *appender
	// stampConn stamps searches alone (the loop's own connection).
	stampConn *sql.Conn

	batchSize *prometheus.HistogramVec
	reruns    prometheus.Counter
}

func newSequencer(s *Store, opts ...Option) *sequencer {
	q := &sequencer{store: s, maxBatch: 256, stopped: make(chan struct{}),
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "registry_sequencer_batch_writes",
			Help:    "Writes per sequencer transaction, by how the batch ended (committed, rerun).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		}, []string{"outcome"}),
		reruns: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "registry_sequencer_reruns_total",
			Help: "Writes run again alone because their batch could not commit as a whole.",
		}),
	}
	for _, o := range opts {
		o(q)
	}
	q.queue = make(chan *request, 4*q.maxBatch)
	q.readers = make(chan struct{}, parallelSearches)
	q.appender = newAppender(s, q.maxBatch)
	return q
}

// Collectors are the sequencer's metrics and the similar-names index's size.
func (s *Store) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.seq.batchSize, s.seq.reruns,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "registry_similar_names",
			Help: "Grantor names in this instance's similar-names index.",
		}, func() float64 { return float64(s.similar.idx.Stats().Names) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "registry_similar_names_bytes",
			Help: "Memory the similar-names index holds: names, entries and posting runs.",
		}, func() float64 { return float64(s.similar.idx.Stats().Bytes) }),
	}
}

// do queues a write and waits for its answer, which comes after its batch
// has committed or rolled back.
func (q *sequencer) do(ctx context.Context, kind registry.StampKind, fn func(registry.Tx, registry.Stamp) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.start.Do(func() { go q.loop() })
	r := &request{ctx: ctx, kind: kind, fn: fn, done: make(chan error, 1)}
	q.mu.RLock()
	if q.closed {
		q.mu.RUnlock()
		return errClosed
	}
	select {
	case q.queue <- r:
	case <-ctx.Done():
		q.mu.RUnlock()
		return ctx.Err()
	}
	q.mu.RUnlock()
	// Once queued, the write is answered even if its caller has gone: it
	// may already be part of a committing batch.
	return <-r.done
}

func (q *sequencer) close() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.queue)
	}
	q.mu.Unlock()
	q.start.Do(func() { go q.loop() })
	<-q.stopped
	q.searching.Wait()
	q.appender.close()
	q.dropStampConn()
}

func (q *sequencer) loop() {
	defer close(q.stopped)
	batch := make([]*request, 0, q.maxBatch)
	for first := range q.queue {
		batch = q.collect(append(batch[:0], first))
		q.run(batch)
		clear(batch)
	}
}

// collect adds the writes that are waiting, up to the batch size, waiting
// up to maxWait for more.
func (q *sequencer) collect(batch []*request) []*request {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for len(batch) < q.maxBatch {
		select {
		case r, ok := <-q.queue:
			if !ok {
				return batch
			}
			batch = append(batch, r)
			continue
		default:
		}
		if q.maxWait <= 0 {
			return batch
		}
		if timer == nil {
			timer = time.NewTimer(q.maxWait)
		}
		select {
		case r, ok := <-q.queue:
			if !ok {
				return batch
			}
			batch = append(batch, r)
		case <-timer.C:
			return batch
		}
	}
	return batch
}

// run runs one batch and answers each of its writes. Searches that read
// only as of their stamps are only stamped in the batch; once it has
// committed (and with it every event before their stamps), each runs on the
// committed register and its rows are appended (searches.go).
func (q *sequencer) run(batch []*request) {
	var searches, writes []*request
	for _, r := range batch {
		switch {
		case r.ctx.Err() != nil:
			r.done <- r.ctx.Err()
		case r.kind == registry.StampSearchAsOf:
			searches = append(searches, r)
		default:
			writes = append(writes, r)
		}
	}
	if len(searches) == 0 {
		switch len(writes) {
		case 0:
			return
		case 1:
			writes[0].done <- q.alone(writes[0])
			q.batchSize.WithLabelValues("committed").Observe(1)
			return
		}
	}
	if len(writes) == 0 {
		stamps, err := q.stampSearches(len(searches))
		if err != nil {
			for _, r := range searches {
				r.done <- err
			}
			return
		}
		q.batchSize.WithLabelValues("committed").Observe(float64(len(searches)))
		for i, r := range searches {
			q.search(r, stamps[i])
		}
		return
	}
	stamps, errs, err := q.together(writes, len(searches))
	if err != nil {
		q.batchSize.WithLabelValues("rerun").Observe(float64(len(writes) + len(searches)))
		q.reruns.Add(float64(len(writes)))
		for _, r := range writes {
			r.done <- q.alone(r)
		}
		if len(searches) > 0 {
			if stamps, err = q.stampSearches(len(searches)); err != nil {
				for _, r := range searches {
					r.done <- err
				}
				return
			}
		}
	} else {
		q.batchSize.WithLabelValues("committed").Observe(float64(len(writes) + len(searches)))
		for i, r := range writes {
			r.done <- errs[i]
		}
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
}

func lockHead(tx *gorm.DB) (head, error) {
	var h head
	err := tx.Raw("SELECT seq, log_size, last_at FROM register_head FOR UPDATE").Scan(&h).Error
	return h, err
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
	return s.transaction(r.ctx, func(view *Store) error {
		h, err := lockHead(view.db)
		if err != nil {
			return err
		}
		st := h.next(s.now(), r.kind)
		if err := h.save(view.db); err != nil {
			return err
		}
		return r.fn(view, st)
	})
}

// errRerun rolls a batch back so that its writes run alone.
var errRerun = errors.New("the batch must run its writes alone")

// together stamps the batch's searches and runs its writes in one transaction with
// buffered rows; it returns the searches' stamps (the first of the batch's)
// and each write's own error. An error of its own means none was committed.
// (A batch of searches alone is stamped by stampSearches.)
func (q *sequencer) together(batch []*request, searches int) ([]registry.Stamp, []error, error) {
	s := q.store
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	errs := make([]error, len(batch))
	stamps := make([]registry.Stamp, searches)
	pending := map[int64]translog.Hash{}
	var names []grantorName
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		h, err := lockHead(tx)
		if err != nil {
			return err
		}
		start := h
		for k := range stamps {
			stamps[k] = h.next(s.now(), registry.StampSearchAsOf)
		}
		buf := &writeBuffer{tx: tx, ctx: ctx}
		for i, r := range batch {
			if err := r.ctx.Err(); err != nil {
				errs[i] = err
				continue
			}
			view := s.batchView(tx, buf, pending)
			buf.begin()
			before := h
			err := r.fn(view, h.next(s.now(), r.kind))
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
		if err := buf.flush(); err != nil {
			return err
		}
		names = buf.names
		if h == start {
			return nil
		}
		return h.save(tx)
	})
	if err != nil {
		return nil, nil, err
	}
	s.hashes.add(pending)
	s.similar.added(names)
	return stamps, errs, nil
}

// batchView is the store as one write of a batch sees it: statements on db,
// rows into buf, and the log hashes the batch's earlier writes added.
func (s *Store) batchView(db *gorm.DB, buf *writeBuffer, pending map[int64]translog.Hash) *Store {
	return &Store{db: db, now: s.now, goose: s.goose, hashes: s.hashes, seq: s.seq, similar: s.similar,
		written: map[int64]translog.Hash{}, pending: pending, buf: buf}
}
