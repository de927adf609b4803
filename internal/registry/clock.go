package registry

import (
	"sync/atomic"
	"time"
)

// MonotonicClock is the register's own time: the wall clock it is given,
// to the microsecond, but never earlier than a time it gave before. A
// clock stepped back (an NTP correction, a mistaken operator) makes it
// stand still until the wall clock catches up, so that what the clock
// decides (a registration expired, an objection lapsed, a token past its
// time) is never undone; a clock stepped forward moves it forward at once.
// Events' times and numbers are kept increasing by the sequencer either
// way (each is at least a microsecond after the one before).
type MonotonicClock struct {
	wall func() time.Time
	last atomic.Int64 // Unix microseconds
}

// Monotonic makes the register's time of wall.
func Monotonic(wall func() time.Time) *MonotonicClock { return &MonotonicClock{wall: wall} }

// Now is the register's time.
func (m *MonotonicClock) Now() time.Time {
	now := m.wall().UnixMicro()
	for {
		last := m.last.Load()
		if now <= last {
			return time.UnixMicro(last).UTC()
		}
		if m.last.CompareAndSwap(last, now) {
			return time.UnixMicro(now).UTC()
		}
	}
}

// Behind is how far the wall clock is behind the register's time (0 when
// it is not): how long the register's time stands still.
func (m *MonotonicClock) Behind() time.Duration {
	return max(0, time.Duration(m.last.Load()-m.wall().UnixMicro())*time.Microsecond)
}
