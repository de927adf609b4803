package registry

import (
	"context"
	"fmt"
	"slices"
	"strings"

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
func (s *Service) User(ctx context.Context, c Caller, id string) (User, error) {
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
		case !c.Has(auth.Admin) && holdsStaffRole(was.Roles):
			return refused(ErrForbidden, "only an admin changes registry staff")
		}
		u = was
		if req.Roles != nil {
			if holdsStaffRole(roles) {
				o, err := tx.Organization(ctx, was.OrganizationID)
				if err != nil {
					return err
				}
				if o.Kind != OrgKindRegistry {
					return Broke("roles", RuleStaffRole, "the staff roles (admin, auditor) are held only by users of the registry's own organizations (kind registry)")
				}
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
