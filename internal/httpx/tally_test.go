package httpx

import (
	"testing"
	"time"
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
