package web

import (
	"context"
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
// pending sign-up refused, its USCC and emails free again.
func (s *site) rejectOrganization(w http.ResponseWriter, r *http.Request, c *call) error {
	return setStatus(s, w, r, c, auth.RejectOrganization, "/admin/organizations?status="+registry.OrgPending, "rejected",
		func(ctx context.Context, caller registry.Caller, id string) (registry.Organization, error) {
			return s.svc.RejectOrganization(ctx, caller, id, registry.RejectionRequest{Note: r.PostFormValue("note")})
		})
}

// suspendOrganization handles POST /admin/organizations/{id}/suspension.
func (s *site) suspendOrganization(w http.ResponseWriter, r *http.Request, c *call) error {
	return setStatus(s, w, r, c, auth.SuspendOrganization, "/admin/organizations?status="+registry.OrgActive, "suspended", s.svc.SuspendOrganization)
}

// revocations handles GET /admin/revocations?number=: an administrator
// names the registration a judgment, ruling or award concerns, and revokes
// it (or one of its objections) on its page.
func (s *site) revocations(w http.ResponseWriter, r *http.Request, c *call) error {
	if !c.caller.Can(auth.Revoke) {
		c.audited(auth.Revoke, "")
		return registry.ErrForbidden
	}
	number := strings.TrimSpace(r.URL.Query().Get("number"))
	form := url.Values{"number": {number}}
	if number == "" {
		s.renderForm(w, c, http.StatusOK, "revocations", nil, form, nil)
		return nil
	}
	c.audited(auth.ReadRegistration, number)
	reg, err := s.svc.Registration(c.ctx(), c.caller, number)
	if err != nil {
		return s.formFailed(w, c, "revocations", nil, form, "", err)
	}
	http.Redirect(w, r, "/registrations/"+reg.Number+"#revoke", http.StatusSeeOther)
	return nil
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
	out := usersPage{OrganizationID: org, Page: page, Next: nextPage("/admin/users", url.Values{"organization_id": {org}}, page.NextCursor)}
	for _, r := range auth.Roles {
		// The registry's staff roles are the administrators' to give.
		if !r.Staff() || c.caller.Has(auth.Admin) {
			out.Roles = append(out.Roles, string(r))
		}
	}
	return out, nil
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

// auditFilters are the audit page's filters, by their query names.
var auditFilters = []string{"actor", "organization", "action", "target", "outcome", "from", "to"}

type auditPage struct {
	Outcomes []string
	Page     registry.Page[registry.AuditEntry]
	Next     string
	Export   string
}

// auditRequest reads the audit filters; from and to are CST date-times in
// the form, RFC 3339 to the service.
func auditRequest(q url.Values) (registry.AuditRequest, url.Values, []registry.FieldError) {
	form := url.Values{}
	for _, k := range auditFilters {
		form.Set(k, q.Get(k))
	}
	var errs []registry.FieldError
	instant := func(field string) string {
		v := q.Get(field)
		if v == "" {
			return ""
		}
		t, ok := parseLocal(v)
		if !ok {
			errs = append(errs, registry.Broken(field, registry.RuleDate, "must be a date such as 2026-11-26"))
			return ""
		}
		return t.Format("2006-01-02T15:04:05Z07:00")
	}
	req := registry.AuditRequest{Actor: q.Get("actor"), Organization: q.Get("organization"), Action: q.Get("action"),
		Target: q.Get("target"), Outcome: q.Get("outcome"), From: instant("from"), To: instant("to"), Cursor: q.Get("cursor")}
	return req, form, errs
}

// auditTrail handles GET /audit: the trail with filters (auditors, admins).
func (s *site) auditTrail(w http.ResponseWriter, r *http.Request, c *call) error {
	c.audited(auth.ReadAudit, "")
	req, form, errs := auditRequest(r.URL.Query())
	data := auditPage{Outcomes: []string{"success", "denied", "invalid", "error"}, Export: "/audit/export?" + form.Encode()}
	if len(errs) > 0 {
		return s.formFailed(w, c, "audit", data, form, "", &registry.ValidationError{Errors: errs})
	}
	page, err := s.svc.Audit(c.ctx(), c.caller, req)
	if err != nil {
		return s.formFailed(w, c, "audit", data, form, "", err)
	}
	data.Page = page
	data.Next = nextPage("/audit", form, page.NextCursor)
	s.renderForm(w, c, http.StatusOK, "audit", data, form, nil)
	return nil
}

// exportAudit handles GET /audit/export: the filtered trail as CSV, as the
// API's export writes it.
func (s *site) exportAudit(w http.ResponseWriter, r *http.Request, c *call) error {
	c.audited(auth.ExportAudit, "")
	req, _, errs := auditRequest(r.URL.Query())
	req.Cursor = ""
	if len(errs) > 0 {
		return &registry.ValidationError{Errors: errs}
	}
	rows, err := httpx.ExportAuditCSV(c.ctx(), w, s.svc, c.caller, req)
	if err != nil && rows >= 0 {
		s.log.Error("audit export broken off", "error", err, "rows", rows, "request_id", c.caller.RequestID)
		panic(http.ErrAbortHandler)
	}
	return err
}
