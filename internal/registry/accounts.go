package registry

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/identifiers"
)

// Organization and user statuses.
const (
	OrgPending   = "pending"
	OrgActive    = "active"
	OrgSuspended = "suspended"
	// OrgRejected is a sign-up an admin refused; its USCC and emails are free.
	OrgRejected = "rejected"

	UserActive    = "active"
	UserSuspended = "suspended"
)

// SignUp opens a pending organization whose first user is its org_admin and,
// unless the request names fewer, its registrant and searcher: once approved,
// that user files and searches with no second account. Nobody in it can
// sign in until an admin approves the organization.
func (s *Service) SignUp(ctx context.Context, c Caller, req SignUpRequest) (SignedUp, error) {
	if err := allow(c, auth.SignUp); err != nil {
		return SignedUp{}, err
	}
	// Sign-up needs no account, so it has its own, tighter limit per
	// address: squatting other companies' USCCs must stay slow.
	if wait, ok := s.signUps.Take(auth.AddressKey(c.Source), s.clock()); !ok {
		return SignedUp{}, &RateLimitedError{RetryAfter: wait, Reason: "too many sign-ups from this address: retry after the time Retry-After gives"}
	}
	o := Organization{Name: req.Organization.Name, USCC: req.Organization.USCC, Kind: req.Organization.Kind}
	// The password is checked once, below, as required.
	roles := SignUpRoles
	if req.User.Roles != nil {
		roles = dedupe(req.User.Roles)
	}
	var p problems
	if !checkSignUpRoles(&p, req.User.Roles) {
		roles = SignUpRoles // named once, as user.roles, not again below
	}
	nu := NewUser{OrganizationID: "-", Email: req.User.Email, DisplayName: req.User.DisplayName, Roles: roles}
	if o.Kind == OrgKindRegistry {
		p.add("organization.kind", CodeInvalidField, "the registry's own organizations are made by an admin; sign up as enterprise, financial_institution or other")
	} else {
		p.prefixed("organization.", o.Validate())
	}
	p.prefixed("user.", nu.Validate())
	checkPassword(&p, "user.password", req.User.Password, true)
	if err := p.err(); err != nil {
		return SignedUp{}, err
	}
	o.Status = OrgPending
	u := User{Email: nu.Email, DisplayName: nu.DisplayName, Roles: nu.Roles, Status: UserActive}
	hash, err := s.hashPassword(ctx, req.User.Password)
	if err != nil {
		return SignedUp{}, err
	}
	at := s.clock()
	err = s.store.InTx(ctx, func(tx Tx) error {
		if err := tx.InsertOrganization(ctx, &o, at); errors.Is(err, ErrConflict) {
			return refused(ErrConflict, "an organization with this USCC already has an account")
		} else if err != nil {
			return err
		}
		u.OrganizationID = o.ID
		if err := tx.InsertUser(ctx, &u, hash, at); errors.Is(err, ErrConflict) {
			return refused(ErrConflict, "this email already belongs to a user")
		} else if err != nil {
			return err
		}
		actor := c
		actor.Principal = auth.Principal{UserID: u.ID, OrganizationID: o.ID}
		return tx.InsertAudit(ctx, s.entry(actor, auth.SignUp, o.ID, at))
	})
	if err != nil {
		return SignedUp{}, err
	}
	return SignedUp{Organization: o, User: u}, nil
}

// SignUpRoles are the roles a sign-up's first user holds unless the request
// names a subset: all an organization's own roles.
var SignUpRoles = []string{string(auth.OrgAdmin), string(auth.Registrant), string(auth.Searcher)}

// checkSignUpRoles checks the roles a sign-up asks for (nil: the default):
// a subset of SignUpRoles that keeps org_admin, since the first user is the
// only one who can add the others. It reports whether they may be given.
func checkSignUpRoles(p *problems, roles []string) (ok bool) {
	if len(roles) == 0 {
		return true // none at all is NewUser.Validate's to name
	}
	for _, r := range roles {
		if !slices.Contains(SignUpRoles, r) {
			p.broke("user.roles", RuleNotOneOf, fmt.Sprintf("%q is not a role a sign-up gives: choose among org_admin, registrant and searcher", r), "value", r)
			return false
		}
	}
	if !slices.Contains(roles, string(auth.OrgAdmin)) {
		p.add("user.roles", CodeInvalidField, "must include org_admin: the first user is the one who manages the organization's users")
		return false
	}
	return true
}

// ApproveOrganization makes a pending or suspended organization active.
func (s *Service) ApproveOrganization(ctx context.Context, c Caller, id string) (Organization, error) {
	return s.setOrganizationStatus(ctx, c, auth.ApproveOrganization, id, OrgActive)
}

// SuspendOrganization stops an organization: its users' tokens are revoked
// at once and nobody in it can sign in until it is approved again.
func (s *Service) SuspendOrganization(ctx context.Context, c Caller, id string) (Organization, error) {
	return s.setOrganizationStatus(ctx, c, auth.SuspendOrganization, id, OrgSuspended)
}

func (s *Service) setOrganizationStatus(ctx context.Context, c Caller, action auth.Action, id, status string) (Organization, error) {
	var o Organization
	err := s.administer(ctx, c, action, &o, func(tx Tx, at time.Time) (string, error) {
		var err error
		if o, err = tx.Organization(ctx, id); err != nil {
			return "", err
		}
		if o.Status == status {
			return "", refused(ErrConflict, "the organization is already "+status)
		}
		if o.Status == OrgRejected {
			return "", refused(ErrConflict, "the organization's sign-up was rejected: it signs up again, or an admin creates it")
		}
		if o, err = tx.SetOrganizationStatus(ctx, id, o.Status, status, at); err != nil {
			return "", err
		}
		if status == OrgSuspended {
			// Approval later does not bring old tokens back.
			return id, tx.RevokeTokensOf(ctx, id, "", at)
		}
		return id, nil
	})
	return o, err
}

// Organizations lists account-holding organizations, oldest first, for the
// registry's staff; status narrows it (pending: those awaiting approval).
func (s *Service) Organizations(ctx context.Context, c Caller, req OrganizationListRequest) (Page[Organization], error) {
	if err := allow(c, auth.ListOrganizations); err != nil {
		return Page[Organization]{}, err
	}
	var p problems
	if req.Status != "" {
		checkEnum(&p, "status", req.Status, []string{OrgPending, OrgActive, OrgSuspended, OrgRejected})
	}
	limit, after := readPage(&p, req.Limit, req.Cursor, isUUID)
	if err := p.err(); err != nil {
		return Page[Organization]{}, err
	}
	orgs, err := s.store.ListOrganizations(ctx, req.Status, after, limit+1)
	if err != nil {
		return Page[Organization]{}, err
	}
	return pageOf(orgs, limit, func(o Organization) string { return o.ID }), nil
}

// Users lists an organization's users: an org_admin its own organization's,
// the registry's staff any organization's (or everyone's).
func (s *Service) Users(ctx context.Context, c Caller, req UserListRequest) (Page[User], error) {
	if err := allow(c, auth.ListUsers); err != nil {
		return Page[User]{}, err
	}
	staff := c.Has(auth.Admin) || c.Has(auth.Auditor)
	if req.OrganizationID == "" && !staff {
		req.OrganizationID = c.OrganizationID
	}
	if !staff && req.OrganizationID != c.OrganizationID {
		return Page[User]{}, refused(ErrForbidden, "an org_admin manages its own organization's users only")
	}
	var p problems
	if req.OrganizationID != "" && !isUUID(req.OrganizationID) {
		p.add("organization_id", CodeInvalidField, "is not an organization's id")
	}
	limit, after := readPage(&p, req.Limit, req.Cursor, isUUID)
	if err := p.err(); err != nil {
		return Page[User]{}, err
	}
	users, err := s.store.ListUsers(ctx, req.OrganizationID, after, limit+1)
	if err != nil {
		return Page[User]{}, err
	}
	return pageOf(users, limit, func(u User) string { return u.ID }), nil
}

// SuspendUser stops one user: the user's tokens are revoked at once and the
// user cannot sign in. An org_admin may suspend its own organization's users
// but not itself.
func (s *Service) SuspendUser(ctx context.Context, c Caller, id string) (User, error) {
	return s.setUserStatus(ctx, c, auth.SuspendUser, id, UserSuspended)
}

// ReinstateUser lets a suspended user act again.
func (s *Service) ReinstateUser(ctx context.Context, c Caller, id string) (User, error) {
	return s.setUserStatus(ctx, c, auth.ReinstateUser, id, UserActive)
}

func (s *Service) setUserStatus(ctx context.Context, c Caller, action auth.Action, id, status string) (User, error) {
	var u User
	err := s.administer(ctx, c, action, &u, func(tx Tx, at time.Time) (string, error) {
		var err error
		if u, err = tx.User(ctx, id); err != nil {
			return "", err
		}
		switch {
		case !c.Has(auth.Admin) && u.OrganizationID != c.OrganizationID:
			return "", refused(ErrForbidden, "an org_admin manages its own organization's users only")
		case !c.Has(auth.Admin) && holdsStaffRole(u.Roles):
			return "", refused(ErrForbidden, "only an admin suspends or reinstates registry staff")
		case u.ID == c.UserID:
			return "", refused(ErrConflict, "a user cannot suspend or reinstate itself")
		case u.Status == status:
			return "", refused(ErrConflict, "the user is already "+status)
		}
		if u, err = tx.SetUserStatus(ctx, id, status, at); err != nil {
			return "", err
		}
		if status == UserSuspended {
			return id, tx.RevokeTokensOf(ctx, "", id, at)
		}
		return id, nil
	})
	return u, err
}

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

// signInKeys are the keys under which failed sign-ins are counted: the
// account asked for (known or not, so that slowing down tells nothing) and
// the address asking.
func signInKeys(email, source string) (account, address string) {
	return "email:" + strings.ToLower(strings.TrimSpace(email)), "address:" + auth.AddressKey(source)
}

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
	if err := nu.Validate(); err != nil {
		return User{}, err
	}
	hash := ""
	if nu.Password != "" {
		var err error
		if hash, err = s.hashPassword(ctx, nu.Password); err != nil {
			return User{}, err
		}
	}
	u := User{OrganizationID: nu.OrganizationID, Email: nu.Email, DisplayName: nu.DisplayName, Roles: dedupe(nu.Roles), Status: UserActive,
		NotifyEmail: nu.NotifyEmail, Language: nu.Language}
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
	wa, err := s.accountFailures.wait(ctx, account, now)
	if err != nil {
		return User{}, err
	}
	wb, err := s.addressFailures.wait(ctx, address, now)
	if err != nil {
		return User{}, err
	}
	if wait := max(wa, wb); wait > 0 {
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
		if err := errors.Join(s.accountFailures.fail(ctx, account, now), s.addressFailures.fail(ctx, address, now)); err != nil {
			return User{}, err
		}
		return User{}, ErrWrongCredentials
	}
	if err := s.accountFailures.clear(ctx, account); err != nil {
		return User{}, err
	}
	// Only the password's holder learns why the organization cannot act,
	// and what happens next.
	switch cr.OrganizationStatus {
	case OrgActive:
	case OrgPending:
		return User{}, refused(ErrOrganizationPending, "the organization is awaiting the registry's approval: its users can sign in once an admin approves it")
	case OrgRejected:
		return User{}, refused(ErrOrganizationRejected, "the organization's sign-up was rejected: nobody in it signs in; its USCC and emails are free for a new sign-up")
	case OrgSuspended:
		return User{}, refused(ErrOrganizationSuspended, "the organization is suspended: nobody in it can sign in until the registry reinstates it")
	default:
		return User{}, refused(ErrForbidden, "the organization is "+cr.OrganizationStatus+": nobody in it can sign in")
	}
	if cr.MustChangePassword {
		// The user goes with the refusal: changing the password needs it.
		return cr.User, ErrPasswordChangeRequired
	}
	if holdsStaffRole(cr.User.Roles) && cr.OrganizationKind != OrgKindRegistry {
		return User{}, refused(ErrForbidden, "this user holds a staff role outside the registry's own organizations and cannot sign in: the registry must move it")
	}
	return cr.User, nil
}

// emailAtDomainName says why an address at an IP address is refused.
const emailAtDomainName = "is not an email address at a domain name: an address at an IP address or a [domain literal] is refused"

// EmailAtDomainName reports whether an email address is at a domain name on the
// internet: not a domain literal ("v6@[127.0.0.1]"), not an IP address in
// any spelling a resolver might read as one ("a@127.1", "a@2130706433",
// "a@0x7f.1"), not a name without a dot ("a@localhost"). Notices are mailed
// through the operator's relay, which would deliver to such an address
// inside its own network.
func EmailAtDomainName(email string) bool {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return false
	}
	domain := strings.TrimSuffix(email[at+1:], ".")
	if strings.ContainsAny(domain, "[]:") {
		return false
	}
	if _, err := netip.ParseAddr(domain); err != nil && strings.Contains(domain, ".") {
		// The top-level label begins with a letter, as every top-level
		// domain does (xn-- for the internationalized ones), so that no
		// spelling of a number passes.
		tld := domain[strings.LastIndexByte(domain, '.')+1:]
		r, _ := utf8.DecodeRuneInString(tld)
		return unicode.IsLetter(r)
	}
	return false
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

// OrganizationKinds are the kinds of account-holding organization.
var OrganizationKinds = []string{"enterprise", "financial_institution", "other", OrgKindRegistry}

// OrgKindRegistry is the kind of the registry's own organizations, the only
// ones whose users hold staff roles (admin, auditor). Only an admin makes
// one; sign-up cannot choose it.
const OrgKindRegistry = "registry"

// Organization is an account-holding organization.
type Organization struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	USCC   string `json:"uscc"`
	Kind   string `json:"kind"`
	Status string `json:"status"`
	// CreatedAt is when it signed up (or an admin made it), and Applicant
	// its first user: what an admin deciding on a sign-up reads. The list
	// of organizations gives them.
	CreatedAt *Time      `json:"created_at,omitempty"`
	Applicant *Applicant `json:"applicant,omitempty"`
}

// Applicant is the user who signed an organization up.
type Applicant struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	Email       string `json:"email"`
}

// User is a person acting for an organization.
type User struct {
	ID             string   `json:"id"`
	OrganizationID string   `json:"organization_id"`
	Email          string   `json:"email"`
	DisplayName    string   `json:"display_name"`
	Roles          []string `json:"roles"`
	// Status is active or suspended.
	Status string `json:"status"`
	// NotifyEmail sends the user each of the organization's notices by
	// email, in Language (zh or en).
	NotifyEmail bool   `json:"notify_email"`
	Language    string `json:"language"`
}

// OrganizationInput is an organization as a request names it.
type OrganizationInput struct {
	Name string `json:"name"`
	USCC string `json:"uscc"`
	Kind string `json:"kind"`
}

// SignUpUser is the first user of an organization that signs up.
type SignUpUser struct {
	Email       string `json:"email"`
	DisplayName string `json:"display_name"`
	Password    string `json:"password"`
	// Roles, when given, is a subset of SignUpRoles that includes org_admin.
	Roles []string `json:"roles,omitempty"`
}

// SignUpRequest opens an organization's account, pending approval.
type SignUpRequest struct {
	Organization OrganizationInput `json:"organization"`
	User         SignUpUser        `json:"user"`
}

// RejectionRequest is an admin's refusal of a pending sign-up.
type RejectionRequest struct {
	Note string `json:"note"`
}

// SignedUp is a new pending organization and its first user.
type SignedUp struct {
	Organization Organization `json:"organization"`
	User         User         `json:"user"`
}

// OrganizationListRequest asks for a page of organizations.
type OrganizationListRequest struct {
	Status, Cursor, Limit string
}

// UserListRequest asks for a page of an organization's users.
type UserListRequest struct {
	OrganizationID, Cursor, Limit string
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

// Credentials are what sign-in checks a password against.
type Credentials struct {
	User               User
	PasswordHash       string
	OrganizationStatus string
	OrganizationKind   string
	// MustChangePassword marks a password the registry made: it signs in
	// nobody until it is changed.
	MustChangePassword bool
}

// NewUser is a request to create a user.
type NewUser struct {
	OrganizationID string   `json:"organization_id"`
	Email          string   `json:"email"`
	DisplayName    string   `json:"display_name"`
	Roles          []string `json:"roles"`
	Password       string   `json:"password,omitempty"`
	NotifyEmail    bool     `json:"notify_email,omitempty"`
	Language       string   `json:"language,omitempty"`
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

// Me is the caller's own account.
type Me struct {
	User         *User         `json:"user"`
	Organization *Organization `json:"organization"`
	Roles        []string      `json:"roles"`
}

// Validate checks an organization to be created.
func (o *Organization) Validate() error {
	var p problems
	o.Name = checkText(&p, "name", o.Name, true, maxName)
	o.USCC = checkID(&p, "uscc", CodeInvalidUSCC, "USCC", o.USCC, identifiers.CanonicalUSCC)
	checkEnum(&p, "kind", o.Kind, OrganizationKinds)
	return p.err()
}

// Validate checks a user to be created.
func (u *NewUser) Validate() error {
	var p problems
	if u.OrganizationID == "" {
		p.broke("organization_id", RuleRequired, "is required")
	}
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	if a, err := mail.ParseAddress(u.Email); err != nil || a.Address != u.Email || len(u.Email) > maxName || strings.ContainsFunc(u.Email, hiddenRune) {
		p.broke("email", RuleEmail, "is not an email address")
	} else if !EmailAtDomainName(u.Email) {
		p.broke("email", RuleEmail, emailAtDomainName)
	}
	u.DisplayName = checkText(&p, "display_name", u.DisplayName, true, maxName)
	checkRoles(&p, u.Roles)
	checkPassword(&p, "password", u.Password, false)
	switch u.Language {
	case "":
		u.Language = "zh"
	case "zh", "en":
	default:
		p.broke("language", RuleNotOneOf, "must be zh or en", "allowed", []string{"zh", "en"})
	}
	return p.err()
}

// checkPassword checks a new password; an empty one is refused only where
// it is required.
func checkPassword(p *problems, field, pw string, required bool) {
	switch {
	case pw == "" && !required:
	case utf8.RuneCountInString(pw) < 12:
		p.broke(field, RulePasswordShort, "must have at least 12 characters", "min", 12)
	case len(pw) > 1024:
		p.add(field, CodeInvalidField, "must have at most 1024 bytes")
	case !utf8.ValidString(pw):
		p.broke(field, RuleNotUTF8, "must be valid UTF-8")
	}
}

// AccountStore keeps organizations, users and tokens.
type AccountStore interface {
	InsertOrganization(ctx context.Context, o *Organization, at time.Time) error
	Organization(ctx context.Context, id string) (Organization, error)
	// SetOrganizationStatus changes an organization's status from one to
	// another; ErrConflict if it was no longer from.
	SetOrganizationStatus(ctx context.Context, id, from, to string, at time.Time) (Organization, error)
	// ListOrganizations returns up to limit organizations after the one with
	// id after, in id order (ids are time-ordered), with status if given.
	ListOrganizations(ctx context.Context, status, after string, limit int) ([]Organization, error)
	InsertUser(ctx context.Context, u *User, passwordHash string, at time.Time) error
	User(ctx context.Context, id string) (User, error)
	SetUserStatus(ctx context.Context, id, status string, at time.Time) (User, error)
	// UpdateUser stores a user's roles, display name and notice settings.
	UpdateUser(ctx context.Context, u User) (User, error)
	// LockOrganizationAdmins returns the ids of an organization's active
	// org_admins, locked until the transaction ends.
	LockOrganizationAdmins(ctx context.Context, organizationID string) ([]string, error)
	// OrganizationAdmins lists an organization's active org_admins.
	OrganizationAdmins(ctx context.Context, organizationID string) ([]User, error)
	ListUsers(ctx context.Context, organizationID, after string, limit int) ([]User, error)
	// UserCredentials finds a user by email (stored in lower case), whatever
	// its organization's status; a suspended user is ErrNotFound. A user of
	// a rejected sign-up is found only while its email belongs to nobody
	// else, so that its holder learns the sign-up was rejected.
	UserCredentials(ctx context.Context, email string) (Credentials, error)
	InsertToken(ctx context.Context, userID string, hash []byte, at, expiresAt time.Time) error
	// TokenPrincipal finds the principal behind a live token (unexpired, not
	// revoked, of an active user of an active organization, not a staff user
	// outside the registry's organizations) and notes its use.
	TokenPrincipal(ctx context.Context, hash []byte, now time.Time) (auth.Principal, error)
	ListTokens(ctx context.Context, userID string, now time.Time, after string, limit int) ([]TokenInfo, error)
	// TokenOwner returns the id of a token's user.
	TokenOwner(ctx context.Context, id string) (string, error)
	RevokeToken(ctx context.Context, id string, at time.Time) error
	// RevokeTokensOf revokes every live token of a user, or of every user of
	// an organization.
	RevokeTokensOf(ctx context.Context, organizationID, userID string, at time.Time) error
	// OrganizationByUSCC finds the organization that holds a USCC (not a
	// rejected sign-up).
	OrganizationByUSCC(ctx context.Context, uscc string) (Organization, error)
	// RejectOrganization rejects a pending organization and frees its USCC
	// and its users' emails; ErrConflict if it is no longer pending.
	RejectOrganization(ctx context.Context, id, note string, at time.Time) (Organization, error)
	// StaffOutsideRegistry lists users holding a staff role outside the
	// registry's own organizations.
	StaffOutsideRegistry(ctx context.Context) ([]User, error)
	// InsertFirstAdmin stores a user whose password must be changed at
	// its first sign-in; SetPassword sets a user's own.
	InsertFirstAdmin(ctx context.Context, u *User, passwordHash string, at time.Time) error
	SetPassword(ctx context.Context, userID, passwordHash string) error
	// RegistryOrganizations counts the registry's own organizations.
	RegistryOrganizations(ctx context.Context) (int, error)
}

// PasswordChange is a user's change of its own password, with the one it
// replaces.
type PasswordChange struct {
	Email       string `json:"email"`
	Password    string `json:"password"`
	NewPassword string `json:"new_password"`
}

// ChangePassword replaces a user's password after checking the current one
// as sign-in does (the same time whether the email exists or not, the same
// slowdown after failures). It is how a password the registry made becomes
// the user's own.
func (s *Service) ChangePassword(ctx context.Context, c Caller, req PasswordChange) error {
	if err := allow(c, auth.ChangePassword); err != nil {
		return err
	}
	var p problems
	checkPassword(&p, "new_password", req.NewPassword, true)
	if req.NewPassword != "" && req.NewPassword == req.Password {
		p.add("new_password", CodeInvalidField, "must differ from the password it replaces")
	}
	if err := p.err(); err != nil {
		return err
	}
	u, err := s.signIn(ctx, c, TokenRequest{Email: req.Email, Password: req.Password})
	if err != nil && !errors.Is(err, ErrPasswordChangeRequired) {
		return err
	}
	hash, err := s.hashPassword(ctx, req.NewPassword)
	if err != nil {
		return err
	}
	at := s.clock()
	err = s.store.InTx(ctx, func(tx Tx) error {
		if err := tx.SetPassword(ctx, u.ID, hash); err != nil {
			return err
		}
		actor := c
		actor.Principal = auth.Principal{UserID: u.ID, OrganizationID: u.OrganizationID}
		return tx.InsertAudit(ctx, s.entry(actor, auth.ChangePassword, u.ID, at))
	})
	s.principals.forget()
	return err
}

// Bootstrap opens an empty register to its operator: the registry's own
// organization (kind registry) and its first admin, whose password the
// registry makes, prints once, and asks to be changed at the first sign-in.
// A register that has a registry organization already is left alone
// (ErrConflict).
func (s *Service) Bootstrap(ctx context.Context, org OrganizationInput, email, displayName string) (User, string, error) {
	o := Organization{Name: org.Name, USCC: org.USCC, Kind: OrgKindRegistry}
	nu := NewUser{OrganizationID: "-", Email: email, DisplayName: displayName, Roles: []string{string(auth.Admin)}}
	var p problems
	p.prefixed("organization.", o.Validate())
	p.prefixed("user.", nu.Validate())
	if err := p.err(); err != nil {
		return User{}, "", err
	}
	password := "rgp-" + newModificationCode()
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return User{}, "", err
	}
	o.Status = OrgActive
	u := User{Email: nu.Email, DisplayName: nu.DisplayName, Roles: nu.Roles, Status: UserActive}
	at := s.clock()
	c := Caller{Principal: auth.Principal{Roles: []auth.Role{auth.System}}, Source: "registryd bootstrap"}
	err = s.store.InTx(ctx, func(tx Tx) error {
		if n, err := tx.RegistryOrganizations(ctx); err != nil {
			return err
		} else if n > 0 {
			return refused(ErrConflict, "the register has its registry organization already: bootstrap is only for an empty one")
		}
		if err := tx.InsertOrganization(ctx, &o, at); err != nil {
			return err
		}
		u.OrganizationID = o.ID
		if err := tx.InsertFirstAdmin(ctx, &u, hash, at); err != nil {
			return err
		}
		return tx.InsertAudit(ctx, s.entry(c, auth.Bootstrap, o.ID, at))
	})
	return u, password, err
}

// SignInFailureStore keeps failed sign-ins where every instance sees them.
type SignInFailureStore interface {
	SignInFailures(ctx context.Context, key string) (failures int, last time.Time, err error)
	FailSignIn(ctx context.Context, key string, at time.Time, forgetAfter time.Duration) error
	ClearSignIn(ctx context.Context, key string) error
}

// failures counts failed sign-ins under keys: in this process (Backoff), or
// in a store every instance shares.
type failures struct {
	backoff *auth.Backoff
	shared  SignInFailureStore
}

func (f failures) wait(ctx context.Context, key string, now time.Time) (time.Duration, error) {
	if f.shared == nil {
		return f.backoff.Wait(key, now), nil
	}
	n, last, err := f.shared.SignInFailures(ctx, key)
	if err != nil || n == 0 || now.Sub(last) > f.backoff.Max {
		return 0, err
	}
	return max(last.Add(f.backoff.Delay(n)).Sub(now), 0), nil
}

func (f failures) fail(ctx context.Context, key string, now time.Time) error {
	if f.shared == nil {
		f.backoff.Fail(key, now)
		return nil
	}
	return f.shared.FailSignIn(context.WithoutCancel(ctx), key, now, f.backoff.Max)
}

func (f failures) clear(ctx context.Context, key string) error {
	if f.shared == nil {
		f.backoff.Clear(key)
		return nil
	}
	return f.shared.ClearSignIn(context.WithoutCancel(ctx), key)
}
