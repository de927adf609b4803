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
		// A pending sign-up does not block the admin, who decides: it is
		// rejected, in the same transaction and with its own audit entry.
		held, err := tx.OrganizationByUSCC(ctx, o.USCC)
		switch {
		case err == nil && held.Status == OrgPending:
			if _, err := tx.RejectOrganization(ctx, held.ID, "superseded by an organization the registry created", at); err != nil {
				return "", err
			}
			e := s.entry(c, auth.RejectOrganization, held.ID, at)
			e.Detail = "a pending sign-up with this USCC, superseded by an organization the registry created"
			if err := tx.InsertAudit(ctx, e); err != nil {
				return "", err
			}
		case err == nil:
			return "", refused(ErrConflict, "an organization with this USCC already has an account")
		case !errors.Is(err, ErrNotFound):
			return "", err
		}
		return o.ID, tx.InsertOrganization(ctx, &o, at)
	})
	return o, err
}

// RejectOrganization refuses a pending sign-up (admin): its USCC and its
// users' emails are free again for a new sign-up or an admin's
// POST /organizations, and nobody in it ever signs in.
func (s *Service) RejectOrganization(ctx context.Context, c Caller, id string, req RejectionRequest) (Organization, error) {
	if err := allow(c, auth.RejectOrganization); err != nil {
		return Organization{}, err
	}
	var p problems
	req.Note = checkText(&p, "note", req.Note, false, maxText)
	if err := p.err(); err != nil {
		return Organization{}, err
	}
	var o Organization
	err := s.administer(ctx, c, auth.RejectOrganization, &o, func(tx Tx, at time.Time) (string, error) {
		var err error
		if o, err = tx.Organization(ctx, id); err != nil {
			return "", err
		}
		if o.Status != OrgPending {
			return "", refused(ErrConflict, "only a pending sign-up can be rejected; this organization is "+o.Status)
		}
		o, err = tx.RejectOrganization(ctx, id, req.Note, at)
		return id, err
	})
	return o, err
}

// StaffOutsideRegistry lists users that hold a staff role outside the
// registry's own organizations (left from before the rule): they can
// neither sign in nor use a token, and the operator should move or remove
// them.
func (s *Service) StaffOutsideRegistry(ctx context.Context) ([]User, error) {
	return s.store.StaffOutsideRegistry(ctx)
}

// holdsStaffRole reports whether a user holds admin or auditor.
func holdsStaffRole(roles []string) bool {
	for _, r := range roles {
		if auth.Role(r).Staff() {
			return true
		}
	}
	return false
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
		var err error
		if hash, err = s.hashPassword(ctx, nu.Password); err != nil {
			return User{}, err
		}
	}
	u := User{OrganizationID: nu.OrganizationID, Email: nu.Email, DisplayName: nu.DisplayName, Roles: dedupe(nu.Roles), Status: UserActive}
	err := s.administer(ctx, c, auth.CreateUser, &u, func(tx Tx, at time.Time) (string, error) {
		o, err := tx.Organization(ctx, u.OrganizationID)
		if errors.Is(err, ErrNotFound) {
			return "", Invalid("organization_id", CodeInvalidField, "no organization has this id")
		} else if err != nil {
			return "", err
		}
		if holdsStaffRole(u.Roles) && o.Kind != OrgKindRegistry {
			return "", Broke("roles", RuleStaffRole, "the staff roles (admin, auditor) are held only by users of the registry's own organizations (kind registry)")
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
			return IssuedToken{}, refused(ErrUnauthenticated, "a token for a user by id is issued only to an admin or org_admin who sends its own token")
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
	release, err := s.hashSlot(ctx)
	if err != nil {
		return User{}, err
	}
	ok, err := auth.CheckPassword(req.Password, hash)
	release()
	if err != nil || !ok || cr.User.ID == "" {
		s.accountFailures.Fail(account, now)
		s.addressFailures.Fail(address, now)
		return User{}, ErrUnauthenticated
	}
	s.accountFailures.Clear(account)
	if cr.OrganizationStatus != OrgActive {
		// Only the password's holder learns this.
		return User{}, refused(ErrForbidden, "the organization is "+cr.OrganizationStatus+": nobody in it can sign in until an admin approves it")
	}
	if holdsStaffRole(cr.User.Roles) && cr.OrganizationKind != OrgKindRegistry {
		return User{}, refused(ErrForbidden, "this user holds a staff role outside the registry's own organizations and cannot sign in: the registry must move it")
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

// hashSlot waits for a turn to compute a password hash. argon2id takes
// 19 MiB and tens of milliseconds of one core per hash: unbounded, a flood
// of sign-ins would take the memory and the CPU of everything else. A turn
// not had within PasswordWait is 503 with Retry-After.
func (s *Service) hashSlot(ctx context.Context) (release func(), err error) {
	t := time.NewTimer(s.cfg.PasswordWait)
	defer t.Stop()
	select {
	case s.hashers <- struct{}{}:
		return func() { <-s.hashers }, nil
	case <-t.C:
	case <-ctx.Done():
	}
	return nil, &UnavailableError{RetryAfter: time.Second, Reason: "too many sign-ins at once: retry in a moment"}
}

// hashPassword hashes a new password in its turn.
func (s *Service) hashPassword(ctx context.Context, password string) (string, error) {
	release, err := s.hashSlot(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return auth.HashPassword(password), nil
}
