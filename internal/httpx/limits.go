package httpx

import (
	"context"
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

// Limiter spends one request of a key's limit, or says how long until one
// is free: in this process's memory (Limiters), or in a store that every
// instance shares (Shared).
type Limiter interface {
	Take(ctx context.Context, key string) (wait time.Duration, ok bool)
}

type memoryLimiter struct{ *Limiters }

func (m memoryLimiter) Take(_ context.Context, key string) (time.Duration, bool) {
	return m.Limiters.Take(key)
}

// RateStore keeps limits that several instances share: one emission time
// per key (the generic cell rate algorithm), in the database they share.
type RateStore interface {
	TakeRate(ctx context.Context, key string, rate float64, burst int) (wait time.Duration, ok bool, err error)
}

// Shared is a limit kept in a RateStore, so that a client that spreads its
// requests over several instances gets the same limit as from one. A
// store that cannot answer lets the request through (and says so in the
// log): a limit is not worth an outage.
type Shared struct {
	Store  RateStore
	Limit  Limit
	Prefix string
	Log    func(err error)
}

// Take spends one request of key's limit in the store.
func (s Shared) Take(ctx context.Context, key string) (time.Duration, bool) {
	if s.Limit.Rate <= 0 {
		return 0, true
	}
	wait, ok, err := s.Store.TakeRate(ctx, s.Prefix+key, s.Limit.Rate, max(s.Limit.Burst, 1))
	if err != nil {
		if s.Log != nil {
			s.Log(err)
		}
		return 0, true
	}
	return wait, ok
}

// NewLimiter is a limit in memory, or shared through store when one is given.
func NewLimiter(l Limit, now func() time.Time, store RateStore, prefix string, log func(error)) Limiter {
	if store != nil {
		return Shared{Store: store, Limit: l, Prefix: prefix, Log: log}
	}
	return memoryLimiter{NewLimiters(l, now)}
}
