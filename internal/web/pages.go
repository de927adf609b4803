package web

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/registry"
)

// task is one thing a signed-in user's roles let it do, as the home page
// offers it: its page, and its name and hint in the catalogs
// (home.task.<Key>, home.task.<Key>_hint).
type task struct {
	Key, Path string
	action    auth.Action
}

// tasks are the home page's offers, in the order a user's day needs them.
var tasks = []task{
	{"file", "/registrations/new", auth.FileRegistration},
	{"mine", "/registrations", auth.ListRegistrations},
	{"search", "/search", auth.Search},
	{"approvals", "/admin/organizations?status=" + registry.OrgPending, auth.ApproveOrganization},
	{"users", "/admin/users", auth.CreateUser},
	{"audit", "/audit", auth.ReadAudit},
	{"revocations", "/admin/revocations", auth.Revoke},
}

// homePage is what the home page shows a signed-in user: the tasks its
// roles allow, or, with none, whom to ask for a role.
type homePage struct {
	Tasks []task
	// Missing says the user can neither file nor search; SelfGrant that it
	// may give itself the roles (an org_admin), else Admins are whom to ask.
	Missing, SelfGrant bool
	Admins             []registry.User
}

// home handles GET /: what the register is, and where to go next.
func (s *site) home(w http.ResponseWriter, r *http.Request, c *call) error {
	if !c.signedIn() {
		s.render(w, c, http.StatusOK, "home", nil)
		return nil
	}
	var data homePage
	for _, t := range tasks {
		if c.caller.Can(t.action) {
			data.Tasks = append(data.Tasks, t)
		}
	}
	staff := c.caller.Has(auth.Admin) || c.caller.Has(auth.Auditor) || c.caller.Bootstrap
	data.Missing = !staff && !c.caller.Can(auth.FileRegistration) && !c.caller.Can(auth.Search)
	data.SelfGrant = c.caller.Can(auth.UpdateUser)
	if data.Missing && !data.SelfGrant {
		data.Admins = s.admins(c)
	}
	s.render(w, c, http.StatusOK, "home", &data)
	return nil
}

// admins names the org_admins of the user's organization, who give roles;
// a failure to read them leaves the page saying so in general terms.
func (s *site) admins(c *call) []registry.User {
	admins, err := s.svc.OrganizationAdmins(c.ctx(), c.caller)
	if err != nil {
		s.log.Error("the organization's admins were not read", "error", err, "request_id", c.caller.RequestID)
	}
	return admins
}

// switchLanguage handles GET /lang/{lang}?next=: remembers the choice for a
// year and goes back.
func (s *site) switchLanguage(w http.ResponseWriter, r *http.Request, c *call) error {
	lang := r.PathValue("lang")
	if !slices.Contains(Languages, lang) {
		return registry.ErrNotFound
	}
	s.setCookie(w, r, langCookie, lang, 365*24*60*60)
	http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
	return nil
}

// verify handles GET /verify?number=: anyone checks a certificate number.
func (s *site) verify(w http.ResponseWriter, r *http.Request, c *call) error {
	number := strings.TrimSpace(r.URL.Query().Get("number"))
	form := url.Values{"number": {number}}
	if number == "" {
		s.renderForm(w, c, http.StatusOK, "verify", nil, form, nil)
		return nil
	}
	c.audited(auth.ReadCertificate, number)
	cert, err := s.svc.Certificate(c.ctx(), c.caller, number)
	if errors.Is(err, registry.ErrNotFound) {
		// That the registry issued no such number is the answer to the
		// question asked: it goes beside the number, not above the form.
		p := s.refused(c, err)
		msg, _ := s.views.translate(c.lang, "verify.unknown")
		s.renderForm(w, c, p.Status, "verify", nil, form, map[string]string{"number": msg})
		return nil
	}
	if err != nil {
		return s.formFailed(w, c, "verify", nil, form, "", err)
	}
	s.renderForm(w, c, http.StatusOK, "verify", &cert, form, nil)
	return nil
}

// formFailed shows a form again after the service refused it: field errors
// beside their fields (under prefix, for pages with several forms), any
// other refusal above the form. The refusal is recorded in the audit trail.
func (s *site) formFailed(w http.ResponseWriter, c *call, page string, data any, form url.Values, prefix string, err error) error {
	p := s.refused(c, err)
	if p.Status >= 500 {
		return err
	}
	if neededRoles(c, p, err) != nil {
		// Not the form's fault: the page says which role it needs.
		return err
	}
	errs := map[string]string{}
	var verr *registry.ValidationError
	if errors.As(err, &verr) {
		for field, msg := range s.views.fieldErrors(c.lang, verr) {
			errs[prefix+field] = msg
		}
	} else if ref := (*registry.Refusal)(nil); errors.As(err, &ref) && ref.Field != "" {
		// A refusal about one field (a USCC or identity number another
		// account holds) is shown beside it.
		errs[prefix+ref.Field] = s.views.refusal(c.lang, p.Code+"."+ref.Field, err)
	} else {
		errs[prefix+"form"] = s.views.refusal(c.lang, p.Code, err)
	}
	if form == nil {
		form = url.Values{}
	}
	form.Set("form", strings.TrimSuffix(prefix, "."))
	s.renderForm(w, c, p.Status, page, data, form, errs)
	return nil
}

// nextPage is the address of a list's next page: path with the list's
// filters (the empty ones left out) and the cursor; "" on the last page.
func nextPage(path string, filters url.Values, cursor string) string {
	if cursor == "" {
		return ""
	}
	q := url.Values{}
	for k, v := range filters {
		if len(v) > 0 && v[0] != "" {
			q[k] = v
		}
	}
	q.Set("cursor", cursor)
	return path + "?" + q.Encode()
}

// idempotent gives a creating form the API's Idempotency-Key: the form's
// hidden key, with a fingerprint of what it sends. Sending the same form
// twice (a reload, a double click) gets the first answer.
func idempotent(r *http.Request, c *call) {
	key := r.PostFormValue("idempotency_key")
	if key == "" || len(key) > 255 {
		return
	}
	h := sha256.New()
	h.Write([]byte(r.Method + "\x00" + r.URL.Path + "\x00"))
	names := make([]string, 0, len(r.PostForm))
	for k := range r.PostForm {
		if k != "csrf" {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		for _, v := range r.PostForm[k] {
			h.Write([]byte(k + "=" + v + "\x00"))
		}
	}
	c.caller.Idempotency = &registry.Idempotency{Key: "web:" + key, Fingerprint: h.Sum(nil)}
}

func (s *site) verifyURL(r *http.Request, number string) string {
	base := strings.TrimSuffix(s.opts.PublicURL, "/")
	if base == "" {
		base = s.scheme(r) + "://" + r.Host
	}
	return base + "/verify?number=" + url.QueryEscape(number)
}

// registrationCertificate handles GET /registrations/{number}/certificate.
func (s *site) registrationCertificate(w http.ResponseWriter, r *http.Request, c *call) error {
	number := r.PathValue("number")
	c.audited(auth.ReadRegistration, number)
	reg, err := s.svc.Registration(c.ctx(), c.caller, number)
	if err != nil {
		return err
	}
	digest, err := s.digest(c, reg.Number)
	if err != nil {
		return err
	}
	s.render(w, c, http.StatusOK, "registration_certificate", certificatePage{VerifyURL: s.verifyURL(r, reg.Number), Digest: digest, Reg: &reg})
	return nil
}
