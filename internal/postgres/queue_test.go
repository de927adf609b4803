package postgres

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// recorder is a flush that notes each batch's values, tells started of
// each batch it takes, and holds the first batch until gate is closed.
type recorder struct {
	mu      sync.Mutex
	batches [][]int
	started chan struct{}
	gate    chan struct{}
	err     error
}

func newRecorder() *recorder {
	return &recorder{started: make(chan struct{}, 100), gate: make(chan struct{})}
}

func (r *recorder) flush(batch []*call[int]) error {
	vals := make([]int, len(batch))
	for i, c := range batch {
		vals[i] = c.val
	}
	r.mu.Lock()
	first := len(r.batches) == 0
	r.batches = append(r.batches, vals)
	r.mu.Unlock()
	r.started <- struct{}{}
	if first {
		<-r.gate
	}
	if r.err != nil {
		return r.err
	}
	for _, c := range batch {
		c.answer(nil)
	}
	return nil
}

func (r *recorder) seen() [][]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

// hold queues value 0 and waits until the queue's first batch has taken it
// and is held at the gate: what is queued next waits in the queue.
func hold(t *testing.T, b *batchQueue[int], r *recorder) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- b.do(context.Background(), 0) }()
	select {
	case <-r.started:
	case <-time.After(5 * time.Second):
		t.Fatal("the first batch was not taken")
	}
	return done
}

// enqueue queues v behind the held batch and waits until it is in the
// queue, so that values are queued in the order enqueue is called.
func enqueue(t *testing.T, ctx context.Context, b *batchQueue[int], v int) <-chan error {
	t.Helper()
	n := len(b.in)
	done := make(chan error, 1)
	go func() { done <- b.do(ctx, v) }()
	for i := 0; len(b.in) == n; i++ {
		if i == 5000 {
			t.Fatalf("value %d was not queued", v)
		}
		time.Sleep(time.Millisecond)
	}
	return done
}

func answer(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("a call was not answered")
		return nil
	}
}

func TestBatchQueueCutsBatchesAtMaxBatchInOrder(t *testing.T) {
	r := newRecorder()
	b := newBatchQueue(3, 0, r.flush)
	defer b.close()
	dones := []<-chan error{hold(t, b, r)}
	for v := 1; v <= 7; v++ {
		dones = append(dones, enqueue(t, context.Background(), b, v))
	}
	close(r.gate)
	for i, done := range dones {
		if err := answer(t, done); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	want := [][]int{{0}, {1, 2, 3}, {4, 5, 6}, {7}}
	if got := r.seen(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("batches %v, want %v", got, want)
	}
}

func TestBatchQueueWaitsMaxWaitForMore(t *testing.T) {
	const wait = 300 * time.Millisecond
	r := newRecorder()
	close(r.gate)
	b := newBatchQueue(10, wait, r.flush)
	defer b.close()
	start := time.Now()
	first := make(chan error, 1)
	go func() { first <- b.do(context.Background(), 1) }()
	time.Sleep(10 * time.Millisecond)
	second := make(chan error, 1)
	go func() { second <- b.do(context.Background(), 2) }()
	for _, done := range []<-chan error{first, second} {
		if err := answer(t, done); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took < wait {
		t.Fatalf("the batch went after %v, before its wait of %v", took, wait)
	}
	if got, want := r.seen(), [][]int{{1, 2}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("batches %v, want %v", got, want)
	}
}

func TestBatchQueueWithoutWaitTakesWhatIsWaiting(t *testing.T) {
	r := newRecorder()
	close(r.gate)
	b := newBatchQueue(10, 0, r.flush)
	defer b.close()
	for v := 1; v <= 3; v++ {
		if err := b.do(context.Background(), v); err != nil {
			t.Fatal(err)
		}
	}
	// Each call waited for its answer before the next came: three batches.
	if got, want := r.seen(), [][]int{{1}, {2}, {3}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("batches %v, want %v", got, want)
	}
}

func TestBatchQueueErrorOfFlushAnswersEveryCall(t *testing.T) {
	boom := errors.New("boom")
	r := newRecorder()
	r.err = boom
	b := newBatchQueue(4, 0, r.flush)
	defer b.close()
	dones := []<-chan error{hold(t, b, r)}
	for v := 1; v <= 5; v++ {
		dones = append(dones, enqueue(t, context.Background(), b, v))
	}
	close(r.gate)
	for i, done := range dones {
		if err := answer(t, done); !errors.Is(err, boom) {
			t.Fatalf("call %d answered %v, want %v", i, err, boom)
		}
	}
	if got, want := r.seen(), [][]int{{0}, {1, 2, 3, 4}, {5}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("batches %v, want %v", got, want)
	}
}

func TestBatchQueueLeavesOutCallsWhoseCallerWent(t *testing.T) {
	r := newRecorder()
	b := newBatchQueue(4, 0, r.flush)
	defer b.close()
	held := hold(t, b, r)
	one := enqueue(t, context.Background(), b, 1)
	ctx, cancel := context.WithCancel(context.Background())
	gone := enqueue(t, ctx, b, 2)
	three := enqueue(t, context.Background(), b, 3)
	cancel()
	if err := answer(t, gone); !errors.Is(err, context.Canceled) {
		t.Fatalf("the call whose caller went answered %v", err)
	}
	close(r.gate)
	for _, done := range []<-chan error{held, one, three} {
		if err := answer(t, done); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := r.seen(), [][]int{{0}, {1, 3}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("batches %v, want %v", got, want)
	}
}

func TestBatchQueueCloseRunsWhatIsQueuedThenRefuses(t *testing.T) {
	r := newRecorder()
	b := newBatchQueue(2, 0, r.flush)
	held := hold(t, b, r)
	queued := enqueue(t, context.Background(), b, 1)
	closed := make(chan struct{})
	go func() { b.close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("close returned while a batch was held")
	case <-time.After(20 * time.Millisecond):
	}
	close(r.gate)
	<-closed
	for _, done := range []<-chan error{held, queued} {
		if err := answer(t, done); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.do(context.Background(), 2); !errors.Is(err, errClosed) {
		t.Fatalf("a call after close answered %v, want %v", err, errClosed)
	}
	if got, want := r.seen(), [][]int{{0}, {1}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("batches %v, want %v", got, want)
	}
}
