package registry

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/movable-registry/registry/internal/auth"
)

// CreateOrganization registers an account-holding organization (admin).
func (s *Service) CreateOrganization(ctx context.Context, c Caller, o Organization) (Organization, error) {
	if err := allow(c, auth.CreateOrganization); err != nil {
		return Organization{}, err
	}
	if err := o.Validate(); err != nil {
		return Organization{}, err
	}
	o.Status = OrgActive
	err := s.administer(ctx, c, auth.CreateOrganization, &o, func(tx Tx, at time.Time) (string, error) {
		return o.ID, tx.InsertOrganization(ctx, &o, at)
	})
	return o, err
}

// administer runs a change to accounts in one transaction with its audit
// entry, answering a retry with the same Idempotency-Key as the first time.
// change returns what it acted on, for the audit trail; out is the answer.
func (s *Service) administer(ctx context.Context, c Caller, action auth.Action, out any, change func(tx Tx, at time.Time) (target string, err error)) error {
	if err := allow(c, action); err != nil {
		return err
	}
	at := s.clock()
	err := s.store.InTx(ctx, func(tx Tx) error {
		return s.once(ctx, tx, c, at, out, func() error {
			target, err := change(tx, at)
			if err != nil {
				return err
			}
			return tx.InsertAudit(ctx, s.entry(c, action, target, at))
		})
	})
	// A suspension or revocation stops its tokens at once, here too.
	s.principals.forget()
	return replayed(err)
}

// CreateUser adds a user to an organization: an admin for any organization, an
// org_admin for its own, without registry-staff roles.
func (s *Service) CreateUser(ctx context.Context, c Caller, nu NewUser) (User, error) {
	if err := allow(c, auth.CreateUser); err != nil {
		return User{}, err
	}
	if !c.Has(auth.Admin) {
		if nu.OrganizationID != c.OrganizationID {
			return User{}, ErrForbidden
		}
		for _, r := range nu.Roles {
			if r == string(auth.Admin) || r == string(auth.Auditor) {
				return User{}, ErrForbidden
			}
		}
	}
	if err := nu.Validate(func(r string) bool { return auth.Role(r).Valid() }); err != nil {
		return User{}, err
	}
	hash := ""
	if nu.Password != "" {
		hash = auth.HashPassword(nu.Password)
	}
	u := User{OrganizationID: nu.OrganizationID, Email: nu.Email, DisplayName: nu.DisplayName, Roles: dedupe(nu.Roles), Status: UserActive}
	err := s.administer(ctx, c, auth.CreateUser, &u, func(tx Tx, at time.Time) (string, error) {
		if _, err := tx.Organization(ctx, u.OrganizationID); errors.Is(err, ErrNotFound) {
			return "", Invalid("organization_id", CodeInvalidField, "no organization has this id")
		} else if err != nil {
			return "", err
		}
		return u.ID, tx.InsertUser(ctx, &u, hash, at)
	})
	return u, err
}

func dedupe(xs []string) []string {
	out := make([]string, 0, len(xs))
	seen := map[string]bool{}
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// IssueToken issues a bearer token: for a user by id (admin, or the user's
// org_admin), or to anyone presenting a user's email and password.
func (s *Service) IssueToken(ctx context.Context, c Caller, req TokenRequest) (IssuedToken, error) {
	var userID, signInOrg string
	action := auth.IssueToken
	switch {
	case req.UserID != "" && (req.Email != "" || req.Password != ""):
		return IssuedToken{}, Invalid("user_id", CodeInvalidField, "give either user_id, or email and password")
	case req.UserID != "":
		if c.UserID == "" && !c.Bootstrap {
			return IssuedToken{}, errors.Join(ErrUnauthenticated, errors.New("a token for a user by id is issued only to an admin or org_admin who sends its own token"))
		}
		if err := allow(c, auth.IssueToken); err != nil {
			return IssuedToken{}, err
		}
		u, err := s.store.User(ctx, req.UserID)
		if errors.Is(err, ErrNotFound) {
			return IssuedToken{}, Invalid("user_id", CodeInvalidField, "no user has this id")
		} else if err != nil {
			return IssuedToken{}, err
		}
		if !c.Has(auth.Admin) && u.OrganizationID != c.OrganizationID {
			return IssuedToken{}, ErrForbidden
		}
		if u.Status != UserActive {
			return IssuedToken{}, errors.Join(ErrConflict, errors.New("the user is suspended: reinstate it first"))
		}
		if o, err := s.store.Organization(ctx, u.OrganizationID); err != nil {
			return IssuedToken{}, err
		} else if o.Status != OrgActive {
			return IssuedToken{}, errors.Join(ErrConflict, errors.New("the user's organization is "+o.Status+": a token would not work"))
		}
		userID = u.ID
	case req.Email != "" && req.Password != "":
		action = auth.SignIn
		if err := allow(c, auth.SignIn); err != nil {
			return IssuedToken{}, err
		}
		u, err := s.signIn(ctx, c, req)
		if err != nil {
			return IssuedToken{}, err
		}
		userID, signInOrg = u.ID, u.OrganizationID
	default:
		var p problems
		if req.Email == "" {
			p.add("email", CodeInvalidField, "is required (or user_id)")
		}
		if req.Password == "" {
			p.add("password", CodeInvalidField, "is required with email")
		}
		return IssuedToken{}, p.err()
	}
	secret, hash := auth.NewSecret("rgt_")
	now := s.clock()
	ttl := s.cfg.TokenTTL
	if req.TTL > 0 && req.TTL < ttl {
		ttl = req.TTL
	}
	t := IssuedToken{Token: secret, ExpiresAt: At(now.Add(ttl))}
	err := s.store.InTx(ctx, func(tx Tx) error {
		return s.once(ctx, tx, c, now, &t, func() error {
			if err := tx.InsertToken(ctx, userID, hash, now, t.ExpiresAt.Time); err != nil {
				return err
			}
			actor := c
			if action == auth.SignIn {
				// The one who signs in is the actor.
				actor.Principal = auth.Principal{UserID: userID, OrganizationID: signInOrg}
			}
			return tx.InsertAudit(ctx, s.entry(actor, action, userID, now))
		})
	})
	return t, replayed(err)
}

// signIn checks an email and password. It spends the same time whether or
// not the email exists, and answers an unknown email like a wrong password.
// After repeated failures the account and the address must wait, more each
// time, whether or not the email exists.
func (s *Service) signIn(ctx context.Context, c Caller, req TokenRequest) (User, error) {
	now := s.clock()
	account, address := signInKeys(req.Email, c.Source)
	if wait := max(s.accountFailures.Wait(account, now), s.addressFailures.Wait(address, now)); wait > 0 {
		return User{}, &RateLimitedError{RetryAfter: wait, Reason: "too many failed sign-ins: wait before trying again"}
	}
	var cr Credentials
	if plausibleEmail(req.Email) {
		var err error
		cr, err = s.store.UserCredentials(ctx, req.Email)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return User{}, err
		}
	}
	hash := cr.PasswordHash
	if hash == "" {
		// Spend the same time as a real check so that timing does not
		// reveal whether the email exists.
		hash = dummyHash
	}
	ok, err := auth.CheckPassword(req.Password, hash)
	if err != nil || !ok || cr.User.ID == "" {
		s.accountFailures.Fail(account, now)
		s.addressFailures.Fail(address, now)
		return User{}, ErrUnauthenticated
	}
	s.accountFailures.Clear(account)
	if cr.OrganizationStatus != OrgActive {
		// Only the password's holder learns this.
		return User{}, errors.Join(ErrForbidden, errors.New("the organization is "+cr.OrganizationStatus+": nobody in it can sign in until an admin approves it"))
	}
	return cr.User, nil
}

// plausibleEmail screens what is looked up at sign-in; anything else is
// answered like an unknown email.
func plausibleEmail(s string) bool {
	return len(s) <= maxName && utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

var dummyHash = auth.HashPassword("a password that nobody has, to keep sign-in timing even")

// Me returns the caller's own account.
func (s *Service) Me(ctx context.Context, c Caller) (Me, error) {
	if err := allow(c, auth.ReadMe); err != nil {
		return Me{}, err
	}
	roles := make([]string, len(c.Roles))
	for i, r := range c.Roles {
		roles[i] = string(r)
	}
	if c.Bootstrap {
		return Me{Roles: roles}, nil
	}
	u, err := s.store.User(ctx, c.UserID)
	if err != nil {
		return Me{}, err
	}
	o, err := s.store.Organization(ctx, c.OrganizationID)
	if err != nil {
		return Me{}, err
	}
	return Me{User: &u, Organization: &o, Roles: roles}, nil
}
