package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/registry"
)

// organizationStatuses filter the administrators' list of organizations.
var organizationStatuses = []string{registry.OrgPending, registry.OrgActive, registry.OrgSuspended, registry.OrgRejected}

type organizationsPage struct {
	Statuses []string
	Page     registry.Page[registry.Organization]
	Next     string
}

// organizations handles GET /admin/organizations?status=: pending ones first.
func (s *site) organizations(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	status := q.Get("status")
	if !q.Has("status") {
		status = registry.OrgPending
	}
	c.audited(auth.ListOrganizations, "")
	page, err := s.svc.Organizations(c.ctx(), c.caller, registry.OrganizationListRequest{Status: status, Cursor: q.Get("cursor")})
	if err != nil {
		return err
	}
	form := url.Values{"status": {status}}
	next := nextPage("/admin/organizations", form, page.NextCursor)
	if status == "" && next != "" {
		next += "&status=" // all, not the default (pending)
	}
	s.renderForm(w, c, http.StatusOK, "organizations", organizationsPage{Statuses: organizationStatuses, Page: page, Next: next}, form, nil)
	return nil
}

// setStatus runs an administrator's button (approve, suspend, reinstate) on
// the organization or user the path names, and goes back to the list.
func setStatus[T any](s *site, w http.ResponseWriter, r *http.Request, c *call, action auth.Action, back, done string, set func(context.Context, registry.Caller, string) (T, error)) error {
	id := r.PathValue("id")
	c.audited(action, id)
	if _, err := set(c.ctx(), c.caller, id); err != nil {
		return err
	}
	http.Redirect(w, r, localPath(back)+"&done="+done, http.StatusSeeOther)
	return nil
}

// approveOrganization handles POST /admin/organizations/{id}/approval.
func (s *site) approveOrganization(w http.ResponseWriter, r *http.Request, c *call) error {
	return setStatus(s, w, r, c, auth.ApproveOrganization, "/admin/organizations?status="+registry.OrgPending, "approved", s.svc.ApproveOrganization)
}

// rejectOrganization handles POST /admin/organizations/{id}/rejection: a
// pending sign-up refused, its USCC and emails free again. A rejection is
// for good, so its form asks the admin to confirm it (a box that must be
// ticked, checked here too).
func (s *site) rejectOrganization(w http.ResponseWriter, r *http.Request, c *call) error {
	if r.PostFormValue("confirm") != "1" {
		return registry.Invalid("confirm", registry.CodeInvalidField, "confirm that the rejection is for good")
	}
	return setStatus(s, w, r, c, auth.RejectOrganization, "/admin/organizations?status="+registry.OrgPending, "rejected",
		func(ctx context.Context, caller registry.Caller, id string) (registry.Organization, error) {
			return s.svc.RejectOrganization(ctx, caller, id, registry.RejectionRequest{Note: r.PostFormValue("note")})
		})
}

// suspendOrganization handles POST /admin/organizations/{id}/suspension.
func (s *site) suspendOrganization(w http.ResponseWriter, r *http.Request, c *call) error {
	return setStatus(s, w, r, c, auth.SuspendOrganization, "/admin/organizations?status="+registry.OrgActive, "suspended", s.svc.SuspendOrganization)
}

type usersPage struct {
	OrganizationID string
	Page           registry.Page[registry.User]
	Next           string
	// Roles are those the viewer may give a new user.
	Roles []string
}

// usersOfOrganization lists a page of an organization's users (by default
// the viewer's own) with the roles the viewer may give.
func (s *site) usersOfOrganization(c *call, org, cursor string) (usersPage, error) {
	if org == "" && !c.caller.Has(auth.Admin) {
		org = c.caller.OrganizationID
	}
	c.audited(auth.ListUsers, org)
	page, err := s.svc.Users(c.ctx(), c.caller, registry.UserListRequest{OrganizationID: org, Cursor: cursor})
	if err != nil {
		return usersPage{}, err
	}
	return usersPage{OrganizationID: org, Page: page, Next: nextPage("/admin/users", url.Values{"organization_id": {org}}, page.NextCursor),
		Roles: grantable(c)}, nil
}

// users handles GET /admin/users?organization_id=.
func (s *site) users(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	data, err := s.usersOfOrganization(c, q.Get("organization_id"), q.Get("cursor"))
	if err != nil {
		return err
	}
	s.renderForm(w, c, http.StatusOK, "users", data, url.Values{"organization_id": {data.OrganizationID}}, nil)
	return nil
}

// createUser handles POST /admin/users: an administrator, or an
// organization's org_admin, adds a user who signs in with a password.
func (s *site) createUser(w http.ResponseWriter, r *http.Request, c *call) error {
	f := r.PostForm
	nu := registry.NewUser{OrganizationID: f.Get("organization_id"), Email: strings.TrimSpace(f.Get("email")),
		DisplayName: strings.TrimSpace(f.Get("display_name")), Roles: f["roles"], Password: f.Get("password")}
	form := url.Values{"organization_id": {nu.OrganizationID}, "email": {nu.Email}, "display_name": {nu.DisplayName}, "roles": nu.Roles}
	var err error
	if nu.Password == "" {
		// The API may make a user without one; on the pages a user
		// signs in with it.
		err = registry.Broke("password", registry.RuleRequired, "is required")
	} else {
		c.audited(auth.CreateUser, "")
		_, err = s.svc.CreateUser(c.ctx(), c.caller, nu)
	}
	if err != nil {
		data, lerr := s.usersOfOrganization(c, nu.OrganizationID, "")
		if lerr != nil {
			return err
		}
		c.audited(auth.CreateUser, "")
		return s.formFailed(w, c, "users", data, form, "user.", err)
	}
	http.Redirect(w, r, "/admin/users?"+url.Values{"organization_id": {nu.OrganizationID}, "done": {"user_created"}}.Encode(), http.StatusSeeOther)
	return nil
}

func usersOf(r *http.Request) string {
	return "/admin/users?organization_id=" + url.QueryEscape(r.PostFormValue("organization_id"))
}

// suspendUser handles POST /admin/users/{id}/suspension.
func (s *site) suspendUser(w http.ResponseWriter, r *http.Request, c *call) error {
	return setStatus(s, w, r, c, auth.SuspendUser, usersOf(r), "user_suspended", s.svc.SuspendUser)
}

// reinstateUser handles POST /admin/users/{id}/reinstatement.
func (s *site) reinstateUser(w http.ResponseWriter, r *http.Request, c *call) error {
	return setStatus(s, w, r, c, auth.ReinstateUser, usersOf(r), "user_reinstated", s.svc.ReinstateUser)
}

// signInPage handles GET /signin.
func (s *site) signInPage(w http.ResponseWriter, r *http.Request, c *call) error {
	s.renderForm(w, c, http.StatusOK, "signin", nil, url.Values{"next": {localPath(r.URL.Query().Get("next"))}}, nil)
	return nil
}

// signIn handles POST /signin: a token for the email and password, kept as
// the session.
func (s *site) signIn(w http.ResponseWriter, r *http.Request, c *call) error {
	form := url.Values{"email": {r.PostFormValue("email")}, "next": {localPath(r.PostFormValue("next"))}}
	// Audited under the email asked for, as the API's sign-in is.
	target := httpx.SignInTarget(r.PostFormValue("email"))
	c.audited(auth.SignIn, target)
	password := r.PostFormValue("password")
	if r.PostFormValue("change") == "1" {
		// A first password the registry made, replaced by the user's own
		// before it signs in.
		form.Set("change", "1")
		c.audited(auth.ChangePassword, target)
		req := registry.PasswordChange{Email: r.PostFormValue("email"), Password: password, NewPassword: r.PostFormValue("new_password")}
		if err := s.svc.ChangePassword(c.ctx(), c.caller, req); err != nil {
			return s.formFailed(w, c, "signin", nil, form, "", err)
		}
		password = req.NewPassword
		c.audited(auth.SignIn, target)
	}
	tok, err := s.svc.IssueToken(c.ctx(), c.caller, registry.TokenRequest{Email: r.PostFormValue("email"), Password: password, TTL: s.opts.SessionTTL})
	if errors.Is(err, registry.ErrPasswordChangeRequired) {
		form.Set("change", "1")
		s.renderForm(w, c, http.StatusOK, "signin", nil, form, nil)
		return nil
	}
	if errors.Is(err, registry.ErrUnauthenticated) {
		// Said on the sign-in page itself: the email or password is wrong
		// (which of them, the registry does not tell).
		p := s.refused(c, err)
		msg, _ := s.views.translate(c.lang, "signin.wrong")
		s.renderForm(w, c, p.Status, "signin", nil, form, map[string]string{"form": msg})
		return nil
	}
	if err != nil {
		return s.formFailed(w, c, "signin", nil, form, "", err)
	}
	if c.signedIn() && !c.caller.Bootstrap {
		// Signing in again, perhaps as someone else, ends the old session.
		if err := s.svc.RevokeToken(c.ctx(), c.caller, c.caller.TokenID); err != nil {
			s.log.Error("the earlier session's token was not revoked", "error", err, "request_id", c.caller.RequestID)
		}
	}
	s.startSession(w, r, tok.Token)
	http.Redirect(w, r, form.Get("next"), http.StatusSeeOther)
	return nil
}

// signOut handles POST /signout: the session's token is revoked.
func (s *site) signOut(w http.ResponseWriter, r *http.Request, c *call) error {
	if !c.caller.Bootstrap {
		c.audited(auth.RevokeToken, c.caller.TokenID)
		if err := s.svc.RevokeToken(c.ctx(), c.caller, c.caller.TokenID); err != nil {
			return err
		}
	}
	s.clearSession(w, r)
	http.Redirect(w, r, "/?done=signed_out", http.StatusSeeOther)
	return nil
}

// signUpPage handles GET /signup, and GET /signup?kind=individual: an
// individual's sign-up, with the identity number and address in place of
// the USCC and the organization's kind.
func (s *site) signUpPage(w http.ResponseWriter, r *http.Request, c *call) error {
	kind := "enterprise"
	if r.URL.Query().Get("kind") == registry.OrgKindIndividual {
		kind = registry.OrgKindIndividual
	}
	s.renderForm(w, c, http.StatusOK, "signup", nil, url.Values{"kind": {kind}}, nil)
	return nil
}

// signedUpCookie remembers, for an hour, the sign-up this browser just
// made: the page after it shows it, and the same form sent again (a reload,
// the back button) leads there rather than to a conflict.
const signedUpCookie = "registry_signed_up"

// signUp handles POST /signup: an organization's account, pending approval.
// It answers with a redirect to /signup/submitted, which is safe to reload.
func (s *site) signUp(w http.ResponseWriter, r *http.Request, c *call) error {
	f := r.PostForm
	req := registry.SignUpRequest{
		Organization: registry.OrganizationInput{Name: f.Get("name"), Kind: f.Get("kind")},
		// The first user's emails are in the language it signed up in.
		User: registry.SignUpUser{Email: f.Get("email"), DisplayName: f.Get("display_name"), Password: f.Get("password"), Language: c.lang},
	}
	individual := req.Organization.Kind == registry.OrgKindIndividual
	if individual {
		// The person is the account's one user, by the same name.
		req.Organization.IDNumber, req.Organization.Address = f.Get("id_number"), f.Get("address")
		req.User.DisplayName = req.Organization.Name
	} else {
		req.Organization.USCC = f.Get("uscc")
	}
	c.audited(auth.SignUp, "")
	out, err := s.svc.SignUp(c.ctx(), c.caller, req)
	if errors.Is(err, registry.ErrConflict) {
		if done := s.signedUp(r); done != nil && done.User.Email == strings.ToLower(strings.TrimSpace(req.User.Email)) &&
			(individual && done.Organization.IDNumber == registry.MaskIDNumber(strings.ToUpper(strings.TrimSpace(req.Organization.IDNumber))) ||
				!individual && done.Organization.USCC == strings.ToUpper(strings.TrimSpace(req.Organization.USCC))) {
			// This browser's own sign-up, sent again.
			http.Redirect(w, r, "/signup/submitted", http.StatusSeeOther)
			return nil
		}
	}
	if err != nil {
		form := url.Values{"name": {req.Organization.Name}, "uscc": {req.Organization.USCC}, "kind": {req.Organization.Kind},
			"id_number": {req.Organization.IDNumber}, "address": {req.Organization.Address},
			"email": {req.User.Email}, "display_name": {req.User.DisplayName}}
		return s.formFailed(w, c, "signup", nil, form, "", err)
	}
	// The cookie is not secret: an individual's number is kept masked.
	v := url.Values{"name": {out.Organization.Name}, "uscc": {out.Organization.USCC}, "email": {out.User.Email}}
	if out.Organization.Individual() {
		v.Set("id_number", registry.MaskIDNumber(out.Organization.IDNumber))
	}
	s.setCookie(w, r, signedUpCookie, v.Encode(), 60*60)
	http.Redirect(w, r, "/signup/submitted", http.StatusSeeOther)
	return nil
}

// signedUp is the sign-up this browser made last, if it remembers one.
func (s *site) signedUp(r *http.Request) *registry.SignedUp {
	v, err := url.ParseQuery(s.cookie(r, signedUpCookie))
	if err != nil || v.Get("uscc") == "" && v.Get("id_number") == "" {
		return nil
	}
	o := registry.Organization{Name: v.Get("name"), USCC: v.Get("uscc"), IDNumber: v.Get("id_number"), Status: registry.OrgPending}
	if o.IDNumber != "" {
		o.Kind = registry.OrgKindIndividual
	}
	return &registry.SignedUp{Organization: o, User: registry.User{Email: v.Get("email")}}
}

// signUpSubmitted handles GET /signup/submitted: the sign-up is awaiting
// approval, and what happens next.
func (s *site) signUpSubmitted(w http.ResponseWriter, r *http.Request, c *call) error {
	s.render(w, c, http.StatusOK, "signed_up", s.signedUp(r))
	return nil
}

// userForm is the page where a user's roles, name and notices are changed.
type userForm struct {
	User registry.User
	// Roles are those the viewer may give.
	Roles []string
}

// grantable are the roles the viewer may give: the registry's staff roles
// are the administrators' alone, and an individual's account gives only
// registry.IndividualRoles.
func grantable(c *call) []string {
	if c.caller.Individual() {
		// An individual's account files nothing: no registrant role.
		return registry.IndividualRoles
	}
	var out []string
	for _, r := range auth.Roles {
		if !r.Staff() || c.caller.Has(auth.Admin) {
			out = append(out, string(r))
		}
	}
	return out
}

// userValues are a user's fields as its form shows them.
func userValues(u registry.User) url.Values {
	notify := ""
	if u.NotifyEmail {
		notify = "1"
	}
	return url.Values{"display_name": {u.DisplayName}, "roles": u.Roles, "notify_email": {notify}, "language": {u.Language}}
}

// userPage handles GET /admin/users/{id}: the form that changes a user.
func (s *site) userPage(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	c.audited(auth.ListUsers, id)
	u, err := s.svc.User(c.ctx(), c.caller, id)
	if err != nil {
		return err
	}
	s.renderForm(w, c, http.StatusOK, "user", userForm{User: u, Roles: grantable(c)}, userValues(u), nil)
	return nil
}

// updateUser handles POST /admin/users/{id}: an org_admin (or an
// administrator) changes a user's roles, name, email notices and language.
// The form sends every field; a role left unticked is taken away.
func (s *site) updateUser(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	f := r.PostForm
	roles := f["roles"]
	if roles == nil {
		roles = []string{} // none ticked: refused as such, not "unchanged"
	}
	name, lang, notify := f.Get("display_name"), f.Get("language"), f.Get("notify_email") == "1"
	change := registry.UserUpdate{Roles: &roles, DisplayName: &name, NotifyEmail: &notify, Language: &lang}
	if c.caller.Individual() {
		// The person's own account: its form has no roles, which stay.
		change.Roles = nil
	}
	c.audited(auth.UpdateUser, id)
	u, err := s.svc.UpdateUser(c.ctx(), c.caller, id, change)
	if err == nil && c.caller.Individual() {
		http.Redirect(w, r, "/admin/users/"+url.PathEscape(u.ID)+"?done=account_saved", http.StatusSeeOther)
		return nil
	}
	if err == nil {
		http.Redirect(w, r, "/admin/users?"+url.Values{"organization_id": {u.OrganizationID}, "done": {"user_updated"}}.Encode(), http.StatusSeeOther)
		return nil
	}
	was, rerr := s.svc.User(c.ctx(), c.caller, id)
	if rerr != nil {
		return err
	}
	form := url.Values{"display_name": {name}, "roles": roles, "language": {lang}}
	if notify {
		form.Set("notify_email", "1")
	}
	return s.formFailed(w, c, "user", userForm{User: was, Roles: grantable(c)}, form, "", err)
}
