package registry

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/movable-registry/registry/internal/auth"
)

// Tokens lists a user's live tokens (never their secrets): the caller's own,
// or, with user_id, a user's of the caller's organization (org_admin) or of
// anyone's (admin).
func (s *Service) Tokens(ctx context.Context, c Caller, req TokenListRequest) (Page[TokenInfo], error) {
	if err := allow(c, auth.ListTokens); err != nil {
		return Page[TokenInfo]{}, err
	}
	var p problems
	if req.UserID == "" {
		req.UserID = c.UserID
		if req.UserID == "" {
			p.add("user_id", CodeInvalidField, "is required: the operator's token belongs to no user")
		}
	} else if !isUUID(req.UserID) {
		p.add("user_id", CodeInvalidField, "is not a user's id")
	}
	limit, after := readPage(&p, req.Limit, req.Cursor, isUUID)
	if err := p.err(); err != nil {
		return Page[TokenInfo]{}, err
	}
	if err := s.mayManageTokensOf(ctx, c, req.UserID); err != nil {
		return Page[TokenInfo]{}, err
	}
	tokens, err := s.store.ListTokens(ctx, req.UserID, s.clock(), after, limit+1)
	if err != nil {
		return Page[TokenInfo]{}, err
	}
	return pageOf(tokens, limit, func(t TokenInfo) string { return t.ID }), nil
}

// RevokeToken stops a token at once. Revoking a revoked token again is the
// same success.
func (s *Service) RevokeToken(ctx context.Context, c Caller, id string) error {
	if !isUUID(id) {
		return ErrNotFound
	}
	return s.administer(ctx, c, auth.RevokeToken, &struct{}{}, func(tx Tx, at time.Time) (string, error) {
		owner, err := tx.TokenOwner(ctx, id)
		if err != nil {
			return "", err
		}
		if err := s.mayManageTokensOf(ctx, c, owner); err != nil {
			return "", err
		}
		return id, tx.RevokeToken(ctx, id, at)
	})
}

// mayManageTokensOf checks that c may see and revoke userID's tokens: the
// user itself, its organization's org_admin, or an admin. A user that does
// not exist is forbidden like another organization's, so ids cannot be probed.
func (s *Service) mayManageTokensOf(ctx context.Context, c Caller, userID string) error {
	switch {
	case userID == c.UserID, c.Has(auth.Admin):
		return nil
	case c.Has(auth.OrgAdmin):
		u, err := s.store.User(ctx, userID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if err == nil && u.OrganizationID == c.OrganizationID {
			return nil
		}
	}
	return refused(ErrForbidden, "tokens are managed by their user, its organization's org_admin and admins")
}

// IssueToken issues a bearer token for what req asks: a user's by id
// (IssueUserToken) or a sign-in with an email and password (SignIn).
func (s *Service) IssueToken(ctx context.Context, c Caller, req TokenRequest) (IssuedToken, error) {
	switch {
	case req.UserID != "" && (req.Email != "" || req.Password != ""):
		return IssuedToken{}, Invalid("user_id", CodeInvalidField, "give either user_id, or email and password")
	case req.UserID != "":
		return s.IssueUserToken(ctx, c, req.UserID, req.TTL)
	case req.Email != "" && req.Password != "":
		return s.SignIn(ctx, c, req)
	}
	var p problems
	if req.Email == "" {
		p.add("email", CodeInvalidField, "is required (or user_id)")
	}
	if req.Password == "" {
		p.add("password", CodeInvalidField, "is required with email")
	}
	return IssuedToken{}, p.err()
}

// IssueUserToken issues a token for the user userID, to an admin or to the
// user's own org_admin (a system account's token, say), living ttl or
// token_ttl, whichever is shorter.
func (s *Service) IssueUserToken(ctx context.Context, c Caller, userID string, ttl time.Duration) (IssuedToken, error) {
	if c.UserID == "" && !c.Bootstrap {
		return IssuedToken{}, refused(ErrUnauthenticated, "a token for a user by id is issued only to an admin or org_admin who sends its own token")
	}
	if err := allow(c, auth.IssueToken); err != nil {
		return IssuedToken{}, err
	}
	u, err := s.store.User(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return IssuedToken{}, Invalid("user_id", CodeInvalidField, "no user has this id")
	} else if err != nil {
		return IssuedToken{}, err
	}
	if !c.Has(auth.Admin) && (u.OrganizationID != c.OrganizationID || holdsStaffRole(u.Roles)) {
		return IssuedToken{}, refused(ErrForbidden, "an org_admin issues tokens for its own organization's users, never for registry staff")
	}
	if u.Status != UserActive {
		return IssuedToken{}, refused(ErrConflict, "the user is suspended: reinstate it first")
	}
	if o, err := s.store.Organization(ctx, u.OrganizationID); err != nil {
		return IssuedToken{}, err
	} else if o.Status != OrgActive {
		return IssuedToken{}, refused(ErrConflict, "the user's organization is "+o.Status+": a token would not work")
	} else if holdsStaffRole(u.Roles) && o.Kind != OrgKindRegistry {
		return IssuedToken{}, refused(ErrConflict, "the user holds a staff role outside the registry's own organizations: a token would not work")
	}
	return s.issue(ctx, c, c.Principal, auth.IssueToken, u.ID, ttl)
}

// issue makes userID a token and records it, audited as action by actor
// (once for c's Idempotency-Key).
func (s *Service) issue(ctx context.Context, c Caller, actor auth.Principal, action auth.Action, userID string, ttl time.Duration) (IssuedToken, error) {
	secret, hash := auth.NewSecret("rgt_")
	now := s.clock()
	if ttl <= 0 || ttl > s.cfg.TokenTTL {
		ttl = s.cfg.TokenTTL
	}
	t := IssuedToken{Token: secret, ExpiresAt: At(now.Add(ttl))}
	err := s.store.InTx(ctx, func(tx Tx) error {
		return s.once(ctx, tx, c, now, &t, func() error {
			if err := tx.InsertToken(ctx, userID, hash, now, t.ExpiresAt.Time); err != nil {
				return err
			}
			by := c
			by.Principal = actor
			return tx.InsertAudit(ctx, s.entry(by, action, userID, now))
		})
	})
	return t, replayed(err)
}

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

// TokenListRequest asks for a page of a user's live tokens.
type TokenListRequest struct {
	UserID, Cursor, Limit string
}

// TokenInfo is a live token as its user and managers see it: never its secret.
type TokenInfo struct {
	ID         string `json:"id"`
	UserID     string `json:"user_id"`
	CreatedAt  Time   `json:"created_at"`
	ExpiresAt  Time   `json:"expires_at"`
	LastUsedAt *Time  `json:"last_used_at"`
}

// TokenRequest asks for a token: for a user by id (admin, org_admin) or by
// email and password (anyone).
type TokenRequest struct {
	UserID   string `json:"user_id,omitempty"`
	Email    string `json:"email,omitempty"`
	Password string `json:"password,omitempty"`
	// TTL shortens the token's life below the registry's TokenTTL, as a
	// web session's is; it is not part of the API.
	TTL time.Duration `json:"-"`
}

// IssuedToken is a new bearer token, shown once.
type IssuedToken struct {
	Token     string `json:"token"`
	ExpiresAt Time   `json:"expires_at"`
}
