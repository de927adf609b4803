package postgres

import (
	"context"
	"sync"
	"time"
)

// A batchQueue turns calls that arrive one at a time into batches. One
// goroutine takes the calls waiting (up to maxBatch, waiting up to maxWait
// for more when the queue runs dry before the batch is full) and hands them,
// in the order they came, to flush; the next batch gathers while flush runs.
// flush answers each call of its batch, now or later (it keeps no hold of
// the batch's slice, which the next batch reuses); if it returns an
// error instead, that error answers every call of the batch. A call whose
// caller has gone before its batch is taken is answered with its context's
// error and left out of the batch.
type batchQueue[T any] struct {
	in       chan *call[T]
	maxBatch int
	maxWait  time.Duration
	flush    func([]*call[T]) error

	mu      sync.RWMutex
	closed  bool
	stopped chan struct{}
}

// call is one call waiting in a batchQueue: its value, its caller's
// context, and where its answer goes.
type call[T any] struct {
	ctx  context.Context
	val  T
	done chan error
}

// answer gives the call its outcome; each call is answered once.
func (c *call[T]) answer(err error) { c.done <- err }

// newBatchQueue starts a queue's goroutine; close stops it. maxBatch is at
// least 1; maxWait 0 takes only what is already waiting.
func newBatchQueue[T any](maxBatch int, maxWait time.Duration, flush func([]*call[T]) error) *batchQueue[T] {
	maxBatch = max(maxBatch, 1)
	b := &batchQueue[T]{in: make(chan *call[T], 4*maxBatch), maxBatch: maxBatch, maxWait: maxWait, flush: flush, stopped: make(chan struct{})}
	go b.loop()
	return b
}

// do queues v and waits for its answer. Once queued, v runs to its end even
// if ctx ends: it may already be in a batch under way. ctx bounds only the
// wait. After close, do answers errClosed.
func (b *batchQueue[T]) do(ctx context.Context, v T) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := &call[T]{ctx: ctx, val: v, done: make(chan error, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return errClosed
	}
	select {
	case b.in <- c:
	case <-ctx.Done():
		b.mu.RUnlock()
		return ctx.Err()
	}
	b.mu.RUnlock()
	select {
	case err := <-c.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops taking calls and returns once the calls queued so far have
// been handed to flush.
func (b *batchQueue[T]) close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.in)
	}
	b.mu.Unlock()
	<-b.stopped
}

func (b *batchQueue[T]) loop() {
	defer close(b.stopped)
	batch := make([]*call[T], 0, b.maxBatch)
	for first := range b.in {
		batch = b.collect(append(batch[:0], first))
		live := batch[:0]
		for _, c := range batch {
			if err := c.ctx.Err(); err != nil {
				c.answer(err)
				continue
			}
			live = append(live, c)
		}
		if len(live) > 0 {
			if err := b.flush(live); err != nil {
				for _, c := range live {
					c.answer(err)
				}
			}
		}
		clear(batch)
	}
}

// collect adds the calls that are waiting, up to the batch size, waiting
// up to maxWait for more.
func (b *batchQueue[T]) collect(batch []*call[T]) []*call[T] {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for len(batch) < b.maxBatch {
		select {
		case c, ok := <-b.in:
			if !ok {
				return batch
			}
			batch = append(batch, c)
			continue
		default:
		}
		if b.maxWait <= 0 {
			return batch
		}
		if timer == nil {
			timer = time.NewTimer(b.maxWait)
		}
		select {
		case c, ok := <-b.in:
			if !ok {
				return batch
			}
			batch = append(batch, c)
		case <-timer.C:
			return batch
		}
	}
	return batch
}
