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

// Refusals writes the audit entries of refused requests, for the API and
// the web pages alike.
//
// An entry is never given up lightly: a flood that keeps the database busy,
// or the database gone for a while, is exactly when the trail matters. An
// entry that cannot be written at once is handed to the Refusals' writer,
// which keeps trying, after the answer has gone, for up to ten minutes; the
// request is not held up for it. The writer is a goroutine that NewRefusals
// starts and Close stops; its owner (registryd) closes it once no request
// can refuse any more (the HTTP server has drained) and before the store
// closes.
type Refusals struct {
	svc *registry.Service
	log *slog.Logger
	// late is nil for Refusals without a writer (RefusalsNow).
	late chan lateRefusal

	mu     sync.RWMutex // held to hand over an entry; Close takes it to stop that
	closed bool
	// running ends when Close is called: a try under way is abandoned.
	running context.Context
	quit    context.CancelFunc
	// closing is Close's context: how long the entries left may still
	// take (set before quit is called).
	closing context.Context
	done    chan struct{}
	// tallies count refusals for this Refusals (NewTally); Close closes
	// them first.
	tallies []*Tally
}

// adopt makes t one of r's tallies, closed by r's Close.
func (r *Refusals) adopt(t *Tally) {
	r.mu.Lock()
	r.tallies = append(r.tallies, t)
	r.mu.Unlock()
}

// lateRefusal is a refusal's audit entry that waits to be written.
type lateRefusal struct {
	caller         registry.Caller
	action         auth.Action
	target, detail string
	outcome        audit.Outcome
}

// lateQueue bounds the entries that wait for the writer.
const lateQueue = 10000

// NewRefusals records the refusals of svc, and starts the writer of those
// that cannot be written at once; Close stops it.
func NewRefusals(svc *registry.Service, log *slog.Logger) *Refusals {
	if log == nil {
		log = slog.Default()
	}
	r := &Refusals{svc: svc, log: log, late: make(chan lateRefusal, lateQueue), done: make(chan struct{})}
	r.running, r.quit = context.WithCancel(context.Background())
	go r.write()
	return r
}

// RefusalsNow records the refusals of svc at once or not at all: it has no
// writer to hand an entry to (tests and tools that do not keep one running).
func RefusalsNow(svc *registry.Service, log *slog.Logger) *Refusals {
	if log == nil {
		log = slog.Default()
	}
	return &Refusals{svc: svc, log: log}
}

// answerTime is what a refusal's audit entry leaves of its request's time
// for the answer to be written.
const answerTime = 100 * time.Millisecond

// Record writes the audit entry of a request refused with p; via, when set,
// says where the request came in. A refused request leaves no change
// behind, so its entry is written on its own, with a few seconds of its
// own: the client's context may be gone.
func (r *Refusals) Record(ctx context.Context, caller registry.Caller, action auth.Action, target string, p *Problem, via string) error {
	detail := p.Code + ": " + p.Detail
	if via != "" {
		detail += " (" + via + ")"
	}
	// The first try fits in what is left of the request's time, less a
	// moment for the answer to be written (at least a moment itself): an
	// answer is not held past its deadline for its entry. (A bulk request's
	// rows not reached stop a quarter second before the deadline; given all
	// of that, their entry left the answer nothing on a busy machine.)
	wait := 3 * time.Second
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, max(time.Until(d)-answerTime, answerTime))
	}
	first, cancel := context.WithTimeout(context.WithoutCancel(ctx), wait)
	err := r.svc.Record(first, caller, action, target, audit.OutcomeOf(p.Status), detail)
	cancel()
	if err == nil {
		return nil
	}
	late := lateRefusal{caller: caller, action: action, target: target, outcome: audit.OutcomeOf(p.Status),
		detail: detail + " (recorded late: refused at " + time.Now().UTC().Format(time.RFC3339Nano) + ")"}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.late == nil || r.closed {
		return fmt.Errorf("no writer keeps audit entries to write later, this one is lost: %w", err)
	}
	select {
	case r.late <- late:
		return nil
	default:
		return fmt.Errorf("the queue of audit entries to write later is full, this one is lost: %w", err)
	}
}

// Close first closes the tallies (the counts they wait to write are
// written), then stops the writer: the entries it still holds get one more
// try each while ctx lasts, and those that fail are counted in the log as
// lost. Entries refused after Close are written at once or not at all.
func (r *Refusals) Close(ctx context.Context) {
	r.mu.RLock()
	tallies := r.tallies
	r.mu.RUnlock()
	for _, t := range tallies {
		t.close()
	}
	if r.late == nil {
		return
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		<-r.done
		return
	}
	r.closed = true
	r.closing = ctx
	r.quit()
	r.mu.Unlock()
	<-r.done
}

// write writes the entries that could not be written at once, trying each
// for up to ten minutes, until Close.
func (r *Refusals) write() {
	defer close(r.done)
	for {
		select {
		case e := <-r.late:
			if !r.retry(e) {
				r.last(e)
				return
			}
		case <-r.running.Done():
			r.last()
			return
		}
	}
}

// retry tries e until it is written, ten minutes have passed (it is then
// lost) or Close stops the writer (then it reports false).
func (r *Refusals) retry(e lateRefusal) bool {
	pause := 100 * time.Millisecond
	for deadline := time.Now().Add(10 * time.Minute); ; {
		ctx, cancel := context.WithTimeout(r.running, 5*time.Second)
		err := r.svc.Record(ctx, e.caller, e.action, e.target, e.outcome, e.detail)
		cancel()
		if err == nil {
			return true
		}
		if r.running.Err() != nil {
			return false
		}
		if time.Now().After(deadline) {
			r.log.Error("an audit entry of a refusal could not be written for ten minutes", "error", err, "action", e.action, "request_id", e.caller.RequestID)
			return true
		}
		select {
		case <-time.After(pause):
		case <-r.running.Done():
			return false
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// last gives the entries left (held, then queued) one try each while
// Close's context lasts.
func (r *Refusals) last(held ...lateRefusal) {
	for drained := false; !drained; {
		select {
		case e := <-r.late:
			held = append(held, e)
		default:
			drained = true
		}
	}
	lost := 0
	var lastErr error
	for _, e := range held {
		if err := r.closing.Err(); err != nil {
			lost++
			lastErr = err
			continue
		}
		ctx, cancel := context.WithTimeout(r.closing, 5*time.Second)
		err := r.svc.Record(ctx, e.caller, e.action, e.target, e.outcome, e.detail)
		cancel()
		if err != nil {
			lost++
			lastErr = err
		}
	}
	if lost > 0 {
		r.log.Error("audit entries of refusals were lost at shutdown", "count", lost, "error", lastErr)
	}
}
