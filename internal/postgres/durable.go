package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/movable-registry/registry/internal/registry"
)

// A batch of writes commits with synchronous_commit off: PostgreSQL then
// releases register_head's lock as soon as the commit record is written,
// not after the disk has it, and the next batch (of this instance or of
// another on the same database) can be stamped while this one's commit is
// flushed. Nothing is answered before it is on disk: durable runs a flush
// barrier, a transaction of its own with synchronous_commit on that takes
// a transaction id and so writes a commit record of its own, which
// PostgreSQL answers only once the log is flushed up to it, and with it up
// to every commit before it. Batches that committed meanwhile share one
// barrier, as PostgreSQL's own group commit shares one flush.
//
// The write-ahead log is written in order, so a batch that is on disk has
// every earlier one on disk too: a crash loses, at most, batches whose
// writes were not yet answered, and always a tail of the register, never a
// gap. Until its flush, a batch's rows can be read by others (a search
// stamped after it finds them); a search's own answer waits for its rows'
// synchronous commit, which comes after, and a checkpoint is signed over
// what a stored, synchronous commit covers (log.go).

// flushBarrier makes PostgreSQL flush its write-ahead log up to this
// statement's own commit.
const flushBarrier = "SELECT pg_current_xact_id()"

type committedBatch struct {
	writes []*request
	errs   []error
}

type durable struct {
	store   *Store
	barrier string // flushBarrier, or another statement in a test
	mu      sync.Mutex
	pending []committedBatch
	wake    chan struct{}
	closed  bool
	stopped chan struct{}
	start   sync.Once
}

func newDurable(s *Store) *durable {
	return &durable{store: s, barrier: flushBarrier, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
}

// add hands over a committed batch's writes and their own outcomes.
func (d *durable) add(writes []*request, errs []error) {
	d.start.Do(func() { go d.loop() })
	d.mu.Lock()
	d.pending = append(d.pending, committedBatch{writes: writes, errs: errs})
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// close answers what it holds and stops.
func (d *durable) close() {
	d.start.Do(func() { go d.loop() })
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
			err := d.flush()
			for _, b := range batches {
				for i, r := range b.writes {
					if err != nil {
						r.done <- err
					} else {
						r.done <- b.errs[i]
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
func (d *durable) flush() error {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	if err := d.store.db.WithContext(ctx).Exec(d.barrier).Error; err != nil {
		return &registry.UnavailableError{RetryAfter: time.Second,
			Reason: "the register could not confirm that this write reached the disk; send it again with the same Idempotency-Key to learn whether it was recorded"}
	}
	return nil
}
