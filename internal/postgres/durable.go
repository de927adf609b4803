package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/movable-registry/registry/internal/registry"
)

// A batch of writes commits with synchronous_commit off: PostgreSQL then
// releases register_head's lock as soon as the commit record is written,
// not after the disk has it, and the next batch (of this instance or of
// another on the same database) can be stamped while this one's commit is
// flushed. Nothing is answered before it is on disk: durable runs a flush
// barrier, a transaction of its own with synchronous_commit on that
// changes a row, which PostgreSQL answers only once the log is flushed up
// to its commit record, and with it up to every commit before it. Batches
// that committed meanwhile share one barrier, as PostgreSQL's own group
// commit shares one flush. The barrier must reach the server the batch
// committed on: one restarted since (the pool reconnects quietly) or a
// promoted standby may have lost the batch, and its writes are then
// answered unavailable. Until its barrier has passed, this process's
// memory (the log hashes it caches, the similar names, the log size it
// reached) does not take in what the batch wrote.
//
// The write-ahead log is written in order, so a batch that is on disk has
// every earlier one on disk too: a crash loses, at most, batches whose
// writes were not yet answered, and always a tail of the register, never a
// gap. Until its flush, a batch's rows can be read by others (a search
// stamped after it finds them); a search's own answer waits for its rows'
// synchronous commit, which comes after, and a checkpoint is signed over
// what a stored, synchronous commit covers (log.go).

// flushBarrier makes PostgreSQL flush its write-ahead log up to this
// statement's own commit: it changes a row, because PostgreSQL commits a
// transaction that wrote nothing to the log before its commit record
// asynchronously, whatever synchronous_commit says (an xid alone, as
// pg_current_xact_id() takes, is not enough: acknowledged batches were lost
// to a crash that way). It answers when the server started, so that a
// barrier that reached a server restarted since the batch committed (or a
// promoted standby) is not taken for the batch's own.
const flushBarrier = `INSERT INTO flush_barriers (id, n) VALUES ($1, 1) ON CONFLICT (id) DO UPDATE SET n = flush_barriers.n + 1
	RETURNING (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint`

// committedBatch is a batch that committed: its writes and what committing
// it gave back, the writes' own outcomes, what to run once it is on disk
// and when the server it committed on started.
type committedBatch struct {
	writes []*request
	batchResult
}

type durable struct {
	store   *Store
	id      string // this process's barrier row
	barrier string // flushBarrier, or another statement in a test
	mu      sync.Mutex
	pending []committedBatch
	wake    chan struct{}
	closed  bool
	stopped chan struct{}
}

// newDurable starts the loop that answers committed batches; close stops it.
func newDurable(s *Store) *durable {
	d := &durable{store: s, id: uuid.NewString(), barrier: flushBarrier, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	go d.loop()
	return d
}

// add hands over a committed batch's writes and what committing it gave
// back.
func (d *durable) add(writes []*request, res batchResult) {
	d.mu.Lock()
	d.pending = append(d.pending, committedBatch{writes: writes, batchResult: res})
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// close answers what it holds and stops.
func (d *durable) close() {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
	<-d.stopped
}

func (d *durable) loop() {
	defer close(d.stopped)
	for range d.wake {
		d.mu.Lock()
		batches, closed := d.pending, d.closed
		d.pending = nil
		d.mu.Unlock()
		if len(batches) > 0 {
			server, err := d.flush()
			for _, b := range batches {
				err := err
				if err == nil && b.server != server {
					err = &registry.UnavailableError{RetryAfter: time.Second,
						Reason: "the register's database restarted or changed while this write was committed; send it again with the same Idempotency-Key to learn whether it was recorded"}
				}
				if err == nil && b.durable != nil {
					b.durable()
				}
				for i, r := range b.writes {
					if err != nil {
						r.answer(err)
					} else {
						r.answer(b.errs[i])
					}
				}
			}
		}
		if closed {
			d.mu.Lock()
			rest := len(d.pending)
			d.mu.Unlock()
			if rest == 0 {
				return
			}
		}
	}
}

// flush waits until every commit so far is on disk. If it cannot tell, the
// writes' outcome is unknown: they are answered unavailable, and a client
// learns the outcome by sending its write again with its Idempotency-Key.
func (d *durable) flush() (server int64, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	if err := d.store.db.WithContext(ctx).Raw(d.barrier, d.id).Scan(&server).Error; err != nil {
		return 0, &registry.UnavailableError{RetryAfter: time.Second,
			Reason: "the register could not confirm that this write reached the disk; send it again with the same Idempotency-Key to learn whether it was recorded"}
	}
	return server, nil
}
