package auth

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// AddressKey names the client behind an address for counting its requests
// and failures. An IPv6 client usually holds a whole /64 and could step
// through it, so the /64 is the client.
func AddressKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil || ip.Is4() || ip.Is4In6() {
		return addr
	}
	p, err := ip.Prefix(64)
	if err != nil {
		return addr
	}
	return p.String()
}

// Backoff slows down guessing: after Free failures under one key (an email,
// an address), each further attempt must wait twice as long as the one
// before, from Base up to Max. A success clears the key; a key that has not
// failed for Max is forgotten. It lives in memory: a restart forgives.
type Backoff struct {
	Free      int
	Base, Max time.Duration

	mu      sync.Mutex
	strikes map[string]strike
}

type strike struct {
	failures int
	last     time.Time
}

// Wait returns how long the caller must still wait before an attempt under
// key is looked at; zero when it may go ahead.
func (b *Backoff) Wait(key string, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.strikes[key]
	if !ok {
		return 0
	}
	if wait := s.last.Add(b.Delay(s.failures)).Sub(now); wait > 0 {
		return wait
	}
	return 0
}

// Delay is the wait after n failures.
func (b *Backoff) Delay(n int) time.Duration {
	if n <= b.Free {
		return 0
	}
	d := b.Base
	for i := b.Free + 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// Fail counts a failed attempt under key.
func (b *Backoff) Fail(key string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.strikes == nil {
		b.strikes = map[string]strike{}
	}
	if len(b.strikes) > 100_000 {
		b.forget(now)
	}
	s := b.strikes[key]
	if !s.last.IsZero() && now.Sub(s.last) > b.Max {
		s.failures = 0
	}
	b.strikes[key] = strike{failures: s.failures + 1, last: now}
}

// Clear forgets key's failures.
func (b *Backoff) Clear(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.strikes, key)
}

func (b *Backoff) forget(now time.Time) {
	for k, s := range b.strikes {
		if now.Sub(s.last) > b.Max {
			delete(b.strikes, k)
		}
	}
}

// Quota lets N attempts under one key (an address) through in any Per on
// average, with bursts of up to N, and refuses the rest until there is room.
// Like Backoff it lives in memory, per instance. N of 0 is no limit.
type Quota struct {
	N   int
	Per time.Duration

	mu      sync.Mutex
	buckets map[string]*quotaBucket
}

type quotaBucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// Take spends one attempt under key, or says how long until one is free.
func (q *Quota) Take(key string, now time.Time) (wait time.Duration, ok bool) {
	if q == nil || q.N <= 0 {
		return 0, true
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.buckets == nil {
		q.buckets = map[string]*quotaBucket{}
	}
	if len(q.buckets) > 100_000 {
		for k, b := range q.buckets {
			if now.Sub(b.seen) > q.Per {
				delete(q.buckets, k)
			}
		}
	}
	b := q.buckets[key]
	if b == nil {
		b = &quotaBucket{lim: rate.NewLimiter(rate.Every(q.Per/time.Duration(q.N)), q.N)}
		q.buckets[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}
