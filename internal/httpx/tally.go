package httpx

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/registry"
)

// Tally records requests refused by a rate limit without writing one audit
// entry each: a flood of them would take the audit chain's lock, the
// busiest row of the register, for every refused request. The first refusal
// of a client (address and user) in a second is recorded as itself; the
// rest of that second are counted, and recorded as one entry with the count
// once the second is over. A flood costs a few entries a second and is
// still on record.
//
// Each window with a count has a timer that writes it once the second is
// over. The tally belongs to its Refusals: Refusals.Close closes it first,
// which stops the timers and writes the counts they were waiting to write,
// and waits for any write under way; refusals after that are each recorded
// as themselves.
type Tally struct {
	refusals *Refusals
	log      *slog.Logger
	now      func() time.Time
	window   time.Duration
	// record writes a closed window's entry (the Refusals' service's
	// Record; a test's own).
	record func(ctx context.Context, w *tallyWindow, detail string) error

	mu      sync.Mutex
	windows map[tallyKey]*tallyWindow
	timers  map[tallyKey]*time.Timer
	closed  bool
	// flushing counts the timers scheduled and not yet done.
	flushing sync.WaitGroup
}

type tallyKey struct {
	source, user string
	start        int64
}

type tallyWindow struct {
	caller       registry.Caller
	action       auth.Action
	target, why  string
	count        int
	start        time.Time
	flushPending bool
}

// NewTally records refusals by limit, through refusals, in windows of a
// second.
func NewTally(refusals *Refusals, log *slog.Logger, now func() time.Time) *Tally {
	if now == nil {
		now = time.Now
	}
	t := &Tally{refusals: refusals, log: log, now: now, window: time.Second, windows: map[tallyKey]*tallyWindow{}, timers: map[tallyKey]*time.Timer{}}
	t.record = func(ctx context.Context, w *tallyWindow, detail string) error {
		return refusals.svc.Record(ctx, w.caller, w.action, w.target, audit.Denied, detail)
	}
	refusals.adopt(t)
	return t
}

// Refused records one request refused by a limit with problem p.
func (t *Tally) Refused(ctx context.Context, caller registry.Caller, action auth.Action, target string, p *Problem) {
	now := t.now()
	start := now.Truncate(t.window)
	k := tallyKey{source: auth.AddressKey(caller.Source), user: caller.UserID, start: start.UnixNano()}
	t.mu.Lock()
	w, seen := t.windows[k]
	if !seen || t.closed {
		if len(t.windows) >= 1024 {
			// Clients refused once a second each leave windows with
			// nothing counted, which no timer clears.
			t.sweep()
		}
		if !t.closed {
			t.windows[k] = &tallyWindow{start: start}
		}
		t.mu.Unlock()
		if err := t.refusals.Record(ctx, caller, action, target, p, ""); err != nil {
			t.log.Error("audit entry not written", "error", err, "request_id", caller.RequestID)
		}
		return
	}
	w.count++
	if w.count == 1 {
		w.caller, w.action, w.target, w.why = caller, action, target, p.Code+": "+p.Detail
	}
	if !w.flushPending {
		w.flushPending = true
		// Once the second is over, its count goes into the trail.
		t.flushing.Add(1)
		t.timers[k] = time.AfterFunc(t.window-now.Sub(start)+10*time.Millisecond, func() {
			defer t.flushing.Done()
			t.flush(k)
		})
	}
	t.mu.Unlock()
}

// close stops the tally's timers, writes the counts they were waiting to
// write, and waits for the writes under way; it is Refusals.Close's first
// step.
func (t *Tally) close() {
	t.mu.Lock()
	t.closed = true
	var stopped []tallyKey
	for k, tm := range t.timers {
		if tm.Stop() {
			stopped = append(stopped, k)
		}
	}
	t.mu.Unlock()
	for _, k := range stopped {
		t.flush(k)
		t.flushing.Done()
	}
	t.flushing.Wait()
}

// flush writes a closed window's count.
func (t *Tally) flush(k tallyKey) {
	t.mu.Lock()
	w := t.windows[k]
	delete(t.windows, k)
	delete(t.timers, k)
	t.sweep()
	t.mu.Unlock()
	if w == nil || w.count == 0 {
		return
	}
	detail := fmt.Sprintf("%s (and %d more requests from %s refused by a rate limit in the second from %s)",
		w.why, w.count, w.caller.Source, w.start.UTC().Format(time.RFC3339))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := t.record(ctx, w, detail); err != nil {
		t.log.Error("audit entry of refused requests not written", "error", err, "count", w.count, "source", w.caller.Source)
	}
}

// sweep forgets windows that closed with nothing counted.
func (t *Tally) sweep() {
	cutoff := t.now().Add(-2 * t.window).UnixNano()
	for k, w := range t.windows {
		if k.start < cutoff && w.count == 0 {
			delete(t.windows, k)
		}
	}
}
