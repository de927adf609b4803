package registry

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/movable-registry/registry/internal/auth"
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

// SignUp opens a pending organization whose first user is its org_admin.
// Nobody in it can sign in until an admin approves the organization.
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
	nu := NewUser{OrganizationID: "-", Email: req.User.Email, DisplayName: req.User.DisplayName, Roles: []string{string(auth.OrgAdmin)}}
	var p problems
	if o.Kind == OrgKindRegistry {
		p.add("organization.kind", CodeInvalidField, "the registry's own organizations are made by an admin; sign up as enterprise, financial_institution or other")
	} else {
		p.prefixed("organization.", o.Validate())
	}
	p.prefixed("user.", nu.Validate(func(string) bool { return true }))
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

// prefixed adds a nested value's field errors under prefix.
func (p *problems) prefixed(prefix string, err error) {
	var v *ValidationError
	if errors.As(err, &v) {
		for _, f := range v.Errors {
			f.Field = prefix + f.Field
			p.errs = append(p.errs, f)
		}
	}
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

// readPage reads a list's limit and cursor. A cursor is the base64url form of
// the last item's key on the page before; valid says whether a key could be one.
func readPage(p *problems, limit, cursor string, valid func(string) bool) (n int, after string) {
	n = defaultPage
	if limit != "" {
		var err error
		n, err = strconv.Atoi(limit)
		if err != nil || n < 1 || n > maxPage {
			p.add("limit", CodeInvalidField, fmt.Sprintf("must be a whole number from 1 to %d", maxPage))
			n = defaultPage
		}
	}
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || !valid(string(b)) {
			p.add("cursor", CodeInvalidField, "is not a cursor this list gave")
		}
		after = string(b)
	}
	return n, after
}

// pageOf cuts the one item fetched beyond limit off and makes the cursor.
func pageOf[T any](items []T, limit int, key func(T) string) Page[T] {
	page := Page[T]{Items: items}
	if page.Items == nil {
		page.Items = []T{}
	}
	if len(items) > limit {
		page.Items = items[:limit]
		page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(key(items[limit-1])))
	}
	return page
}

func isUUID(s string) bool { return uuid.Validate(s) == nil && len(s) == 36 }

// shown is a registration as c may see it: the identity numbers of
// individuals are masked for anyone but its parties, its controller, and the
// registry's staff.
func shown(c Caller, r Registration) Registration {
	if c.Has(auth.Auditor) || c.Has(auth.Admin) || isPartyOrController(c, r) {
		return r
	}
	r.Grantors = maskedParties(r.Grantors)
	r.SecuredParties = maskedParties(r.SecuredParties)
	return r
}

func isPartyOrController(c Caller, r Registration) bool {
	if c.OrganizationID != "" && c.OrganizationID == r.Controller.OrganizationID {
		return true
	}
	if c.OrganizationUSCC == "" {
		return false
	}
	if c.OrganizationUSCC == r.Controller.USCC {
		return true
	}
	for _, ps := range [][]Party{r.Grantors, r.SecuredParties} {
		for _, p := range ps {
			if p.USCC == c.OrganizationUSCC {
				return true
			}
		}
	}
	return false
}

func maskedParties(ps []Party) []Party {
	out := make([]Party, len(ps))
	for i, p := range ps {
		if p.IDNumber != "" {
			p.IDNumber = MaskID(p.IDNumber)
		}
		out[i] = p
	}
	return out
}

// MaskID hides everything of an identity number but the six digits of the
// place of registration (110101************). The birth date, the sequence
// and the check character all stay hidden: any one of them shown narrows a
// guess of the rest, and a search by identity number would confirm it.
func MaskID(id string) string {
	if len(id) <= 6 {
		return strings.Repeat("*", len(id))
	}
	return id[:6] + strings.Repeat("*", len(id)-6)
}

// signInKeys are the keys under which failed sign-ins are counted: the
// account asked for (known or not, so that slowing down tells nothing) and
// the address asking.
func signInKeys(email, source string) (account, address string) {
	return "email:" + strings.ToLower(strings.TrimSpace(email)), "address:" + auth.AddressKey(source)
}
