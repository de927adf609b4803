package httpx

import (
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/movable-registry/registry/internal/registry"
)

// Limit is a token bucket: Rate requests a second on average, bursts of up
// to Burst. A zero Rate turns the limit off.
type Limit struct {
	Rate  float64
	Burst int
}

// Limiters holds one bucket per key (an address, a token), forgetting keys
// that have been idle long enough for their bucket to be full again.
type Limiters struct {
	limit Limit
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	sweepAt time.Time
}

type bucket struct {
	*rate.Limiter
	seen time.Time
}

// NewLimiters makes a bucket per key with limit l; nil (no limit) when
// its rate is zero.
func NewLimiters(l Limit, now func() time.Time) *Limiters {
	if l.Rate <= 0 {
		return nil
	}
	if l.Burst < 1 {
		l.Burst = 1
	}
	return &Limiters{limit: l, now: now, buckets: map[string]*bucket{}}
}

// take spends one request of key's bucket, or says how long until it may.
func (ls *Limiters) Take(key string) (wait time.Duration, ok bool) {
	if ls == nil {
		return 0, true
	}
	now := ls.now()
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if now.After(ls.sweepAt) {
		ls.sweep(now)
	}
	b := ls.buckets[key]
	if b == nil {
		b = &bucket{Limiter: rate.NewLimiter(rate.Limit(ls.limit.Rate), ls.limit.Burst)}
		ls.buckets[key] = b
	}
	b.seen = now
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		// Refused requests do not spend the bucket.
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

// sweep forgets buckets idle for longer than it takes to fill one.
func (ls *Limiters) sweep(now time.Time) {
	full := time.Duration(float64(ls.limit.Burst) / ls.limit.Rate * float64(time.Second))
	for k, b := range ls.buckets {
		if now.Sub(b.seen) > full {
			delete(ls.buckets, k)
		}
	}
	ls.sweepAt = now.Add(max(full, time.Minute))
}

// RateLimited is the refusal of a request over a limit (what: "from this
// address", "with this token").
func RateLimited(wait time.Duration, what string) error {
	return &LimitRefusal{&registry.RateLimitedError{RetryAfter: wait, Reason: "too many requests " + what + ": slow down and retry after the time Retry-After gives"}}
}

// LimitRefusal is a request refused by a rate limit (per address, per
// token), as opposed to the register's own caps: it is audited in tallies.
type LimitRefusal struct{ *registry.RateLimitedError }

func (e *LimitRefusal) Unwrap() error { return e.RateLimitedError }

// RetryAfter is a wait as the Retry-After header gives it: whole seconds,
// rounded up.
func RetryAfter(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(s, 1), 10)
}
