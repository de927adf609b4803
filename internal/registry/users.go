package registry

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/movable-registry/registry/internal/auth"
)

// UserUpdate is a change to a user (PATCH /users/{id}): only the fields
// given change.
type UserUpdate struct {
	Roles       *[]string `json:"roles,omitempty"`
	DisplayName *string   `json:"display_name,omitempty"`
	NotifyEmail *bool     `json:"notify_email,omitempty"`
	Language    *string   `json:"language,omitempty"`
}

// User returns one user: to the registry's staff any user, to an org_admin
// its own organization's. Another organization's user is ErrNotFound, like
// one that does not exist, so that ids cannot be probed.
//
// A user of an individual's account reads its own account only: the
// account is the person alone.
func (s *Service) User(ctx context.Context, c Caller, id string) (User, error) {
	if c.Individual() && id == c.UserID {
		return s.store.User(ctx, id)
	}
	if err := allow(c, auth.ListUsers); err != nil {
		return User{}, err
	}
	u, err := s.store.User(ctx, id)
	if err != nil {
		return User{}, err
	}
	if !c.Has(auth.Admin) && !c.Has(auth.Auditor) && u.OrganizationID != c.OrganizationID {
		return User{}, ErrNotFound
	}
	return u, nil
}

// UpdateUser changes a user's roles, display name and notice settings: an
// admin any user's, an org_admin its own organization's (itself included),
// never a staff user's nor to a staff role. An org_admin may not take
// org_admin from its organization's last active one: nobody would be left
// to manage its users. The change commits with its audit entry, whose
// detail lists what changed.
func (s *Service) UpdateUser(ctx context.Context, c Caller, id string, req UserUpdate) (User, error) {
	if err := allow(c, auth.UpdateUser); err != nil {
		return User{}, err
	}
	var p problems
	if req.Roles == nil && req.DisplayName == nil && req.NotifyEmail == nil && req.Language == nil {
		p.broke("roles", RuleChangesNothing, "changes nothing: give at least one of roles, display_name, notify_email, language")
	}
	var roles []string
	if req.Roles != nil {
		roles = dedupe(*req.Roles)
		checkRoles(&p, roles)
	}
	var name string
	if req.DisplayName != nil {
		name = checkText(&p, "display_name", *req.DisplayName, true, maxName)
	}
	if req.Language != nil {
		checkEnum(&p, "language", *req.Language, []string{"zh", "en"})
	}
	if err := p.err(); err != nil {
		return User{}, err
	}
	if !c.Has(auth.Admin) && holdsStaffRole(roles) {
		return User{}, refused(ErrForbidden, "only an admin gives the registry's staff roles (admin, auditor)")
	}
	var u User
	at := s.clock()
	err := s.store.InTx(ctx, func(tx Tx) error {
		was, err := tx.User(ctx, id)
		if err != nil {
			return err
		}
		switch {
		case !c.Has(auth.Admin) && was.OrganizationID != c.OrganizationID:
			// Answered like a user that does not exist: ids are not probed.
			return ErrNotFound
		case c.Individual() && was.ID != c.UserID:
			// The person changes its own account, and no other user's
			// (one added before individuals' accounts had none).
			return NotForIndividuals(auth.NoUsers)
		case !c.Has(auth.Admin) && holdsStaffRole(was.Roles):
			return refused(ErrForbidden, "only an admin changes registry staff")
		}
		u = was
		if req.Roles != nil {
			o, err := tx.Organization(ctx, was.OrganizationID)
			if err != nil {
				return err
			}
			if err := rolesFit(o, roles); err != nil {
				return err
			}
			u.Roles = roles
		}
		if req.DisplayName != nil {
			u.DisplayName = name
		}
		if req.NotifyEmail != nil {
			if *req.NotifyEmail && !EmailAtDomainName(was.Email) {
				// An address accepted before domain literals were refused
				// gets no notices by email.
				return Broke("notify_email", RuleEmail, "the user's email "+emailAtDomainName)
			}
			u.NotifyEmail = *req.NotifyEmail
		}
		if req.Language != nil {
			u.Language = *req.Language
		}
		loses := slices.Contains(was.Roles, string(auth.OrgAdmin)) && !slices.Contains(u.Roles, string(auth.OrgAdmin))
		if loses && !c.Has(auth.Admin) {
			// The organization's org_admins are locked, so that two of them
			// taking the role from each other at once cannot both succeed.
			admins, err := tx.LockOrganizationAdmins(ctx, was.OrganizationID)
			if err != nil {
				return err
			}
			if !slices.ContainsFunc(admins, func(a string) bool { return a != was.ID }) {
				return refused(ErrConflict, "this is the organization's last active org_admin: give the role to another user first")
			}
		}
		if u, err = tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		e := s.entry(c, auth.UpdateUser, u.ID, at)
		e.Detail = userChanges(was, u)
		return tx.InsertAudit(ctx, e)
	})
	// New roles hold from the next request of every token of the user.
	s.principals.forget()
	return u, err
}

// checkRoles checks roles given to a user: known, at least one, and the
// registry's staff roles never beside an organization's.
func checkRoles(p *problems, roles []string) {
	if len(roles) == 0 {
		p.broke("roles", RuleAtLeastOne, "at least one role is required")
	}
	staff, other := false, false
	for i, r := range roles {
		if !auth.Role(r).Valid() {
			p.add(fmt.Sprintf("roles[%d]", i), CodeInvalidField, fmt.Sprintf("%q is not a role", r))
		}
		if auth.Role(r).Staff() {
			staff = true
		} else {
			other = true
		}
	}
	if staff && other {
		p.add("roles", CodeInvalidField, "the registry's staff roles (admin, auditor) are not held together with an organization's roles")
	}
}

// userChanges says what an update changed, for its audit entry:
// "roles: org_admin → org_admin,registrant; language: zh → en".
func userChanges(was, is User) string {
	var out []string
	note := func(field, from, to string) {
		if from != to {
			out = append(out, fmt.Sprintf("%s: %s → %s", field, from, to))
		}
	}
	note("roles", strings.Join(was.Roles, ","), strings.Join(is.Roles, ","))
	note("display_name", fmt.Sprintf("%q", was.DisplayName), fmt.Sprintf("%q", is.DisplayName))
	note("notify_email", fmt.Sprint(was.NotifyEmail), fmt.Sprint(is.NotifyEmail))
	note("language", was.Language, is.Language)
	if len(out) == 0 {
		return "no change"
	}
	return strings.Join(out, "; ")
}

// OrganizationAdmins names the active org_admins of the caller's own
// organization: whom a user without a role asks for one.
func (s *Service) OrganizationAdmins(ctx context.Context, c Caller) ([]User, error) {
	if err := allow(c, auth.ListAdmins); err != nil {
		return nil, err
	}
	if c.OrganizationID == "" {
		return nil, nil
	}
	return s.store.OrganizationAdmins(ctx, c.OrganizationID)
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
		if o.Individual() {
			// The person alone, made at sign-up: whoever asks, an
			// administrator too, adds nobody who would then read the
			// person's identity number whole.
			return "", NotForIndividuals(auth.NoUsers)
		}
		if err := rolesFit(o, u.Roles); err != nil {
			return "", err
		}
		return u.ID, tx.InsertUser(ctx, &u, hash, at)
	})
	return u, err
}

// rolesFit checks roles against the organization that holds them: the
// staff roles only in the registry's own organizations, and an individual's
// account only IndividualRoles.
func rolesFit(o Organization, roles []string) error {
	if holdsStaffRole(roles) && o.Kind != OrgKindRegistry {
		return Broke("roles", RuleStaffRole, "the staff roles (admin, auditor) are held only by users of the registry's own organizations (kind registry)")
	}
	if o.Individual() {
		for _, r := range roles {
			if !slices.Contains(IndividualRoles, r) {
				return BrokeValue("roles", RuleNotOneOf, fmt.Sprintf("an individual's account files no registrations: its users hold org_admin and searcher, not %q", r), r)
			}
		}
	}
	return nil
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

// UserListRequest asks for a page of an organization's users.
type UserListRequest struct {
	OrganizationID, Cursor, Limit string
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

// Me is the caller's own account.
type Me struct {
	User         *User         `json:"user"`
	Organization *Organization `json:"organization"`
	Roles        []string      `json:"roles"`
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
		p.brokeAllowed("language", RuleNotOneOf, "must be zh or en", []string{"zh", "en"})
	}
	return p.err()
}
