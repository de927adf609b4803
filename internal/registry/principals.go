package registry

import (
	"sync"
	"time"

	"github.com/movable-registry/registry/internal/auth"
)

// principals remembers, for a short time, who a token's holder is, so that
// a burst of requests with one token costs one lookup rather than one each.
// A change to accounts made through this service (a revocation, a
// suspension, new roles) forgets everything at once; one made by another
// instance is seen within the time an entry is kept.
type principals struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cachedPrincipal
}

type cachedPrincipal struct {
	p     auth.Principal
	until time.Time
}

// maxPrincipals bounds the cache; beyond it, it starts again empty.
const maxPrincipals = 100_000

func (c *principals) get(hash []byte, now time.Time) (auth.Principal, bool) {
	if c.ttl <= 0 {
		return auth.Principal{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[string(hash)]
	if !ok || !now.Before(e.until) {
		return auth.Principal{}, false
	}
	return e.p, true
}

func (c *principals) put(hash []byte, p auth.Principal, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxPrincipals {
		c.m = map[string]cachedPrincipal{}
	}
	until := now.Add(c.ttl)
	if !p.ExpiresAt.IsZero() && p.ExpiresAt.Before(until) {
		until = p.ExpiresAt
	}
	c.m[string(hash)] = cachedPrincipal{p: p, until: until}
}

func (c *principals) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}
