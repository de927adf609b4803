package registry

import (
	"context"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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
