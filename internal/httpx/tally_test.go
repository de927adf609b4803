package httpx

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/registry"
)

// Windows with nothing counted are forgotten once they are old, even when
// no flush comes: a client refused once a second leaves one each second.
func TestTallySweepsEmptyWindows(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	tl := &Tally{now: func() time.Time { return now }, window: time.Second, windows: map[tallyKey]*tallyWindow{}}
	for i := range 5000 {
		tl.windows[tallyKey{source: "198.51.100.1", start: now.Add(-time.Duration(i+3) * time.Second).UnixNano()}] = &tallyWindow{}
	}
	tl.windows[tallyKey{source: "198.51.100.2", start: now.UnixNano()}] = &tallyWindow{}
	tl.sweep()
	if len(tl.windows) != 1 {
		t.Errorf("%d windows left, want the current one", len(tl.windows))
	}
}

// Closing the Refusals closes its tallies: the count a timer was waiting to
// write is written at once, and no timer is left to write after the store
// has closed.
func TestTallyClosedWithItsRefusals(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	refusals := RefusalsNow(nil, nil)
	tl := NewTally(refusals, nil, func() time.Time { return now })
	tl.window = time.Hour // no timer fires by itself in this test
	var written []string
	tl.record = func(_ context.Context, w *tallyWindow, detail string) error {
		written = append(written, detail)
		return nil
	}
	caller := registry.Caller{Source: "198.51.100.7"}
	k := tallyKey{source: auth.AddressKey(caller.Source), start: now.Truncate(tl.window).UnixNano()}
	tl.windows[k] = &tallyWindow{start: now.Truncate(tl.window)} // its first refusal, recorded as itself
	for range 3 {
		tl.Refused(t.Context(), caller, auth.Search, "", NewProblem(429, "rate_limited", "too many"))
	}
	if len(tl.timers) != 1 || len(written) != 0 {
		t.Fatalf("%d timers, %d written before Close; want 1 and none", len(tl.timers), len(written))
	}
	refusals.Close(t.Context())
	if len(written) != 1 || !strings.Contains(written[0], "and 3 more requests") {
		t.Errorf("written at Close: %q; want one entry counting 3", written)
	}
	if len(tl.timers) != 0 || len(tl.windows) != 0 || !tl.closed {
		t.Errorf("after Close: %d timers, %d windows, closed %v", len(tl.timers), len(tl.windows), tl.closed)
	}
}
