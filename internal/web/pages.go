package web

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/registry"
)

// home handles GET /: what the register is, and where to go next.
func (s *site) home(w http.ResponseWriter, r *http.Request, c *call) error {
	s.render(w, c, http.StatusOK, "home", nil)
	return nil
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
	if err != nil {
		return s.formFailed(w, c, "verify", nil, form, "", err)
	}
	s.renderForm(w, c, http.StatusOK, "verify", &cert, form, nil)
	return nil
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
	c.audited(auth.SignIn, "")
	tok, err := s.svc.IssueToken(c.ctx(), c.caller, registry.TokenRequest{Email: r.PostFormValue("email"), Password: r.PostFormValue("password"), TTL: s.opts.SessionTTL})
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

// signUpPage handles GET /signup.
func (s *site) signUpPage(w http.ResponseWriter, r *http.Request, c *call) error {
	s.renderForm(w, c, http.StatusOK, "signup", nil, url.Values{"kind": {"enterprise"}}, nil)
	return nil
}

// signUp handles POST /signup: an organization's account, pending approval.
func (s *site) signUp(w http.ResponseWriter, r *http.Request, c *call) error {
	f := r.PostForm
	req := registry.SignUpRequest{
		Organization: registry.OrganizationInput{Name: f.Get("name"), USCC: f.Get("uscc"), Kind: f.Get("kind")},
		User:         registry.SignUpUser{Email: f.Get("email"), DisplayName: f.Get("display_name"), Password: f.Get("password")},
	}
	c.audited(auth.SignUp, "")
	out, err := s.svc.SignUp(c.ctx(), c.caller, req)
	if err != nil {
		form := url.Values{"name": {req.Organization.Name}, "uscc": {req.Organization.USCC}, "kind": {req.Organization.Kind},
			"email": {req.User.Email}, "display_name": {req.User.DisplayName}}
		return s.formFailed(w, c, "signup", nil, form, "", err)
	}
	s.render(w, c, http.StatusCreated, "signed_up", out)
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
	errs := map[string]string{}
	var verr *registry.ValidationError
	if errors.As(err, &verr) {
		for field, msg := range s.views.fieldErrors(c.lang, verr) {
			errs[prefix+field] = msg
		}
	} else {
		msg, _ := s.views.translate(c.lang, "error."+p.Code)
		errs[prefix+"form"] = msg
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

// searchPage handles GET /search.
func (s *site) searchPage(w http.ResponseWriter, r *http.Request, c *call) error {
	if !c.caller.Can(auth.Search) {
		c.audited(auth.Search, "")
		return registry.ErrForbidden
	}
	// A similar name's link opens the form filled in with it.
	form := url.Values{"criterion": {"grantor_name"}, "value": {r.URL.Query().Get("value")}}
	if q := r.URL.Query().Get("criterion"); slices.Contains(criteria, q) {
		form.Set("criterion", q)
	}
	s.renderForm(w, c, http.StatusOK, "search", searchForm{Criteria: criteria, Key: newSecret()}, form, nil)
	return nil
}

type searchForm struct {
	Criteria []string
	Key      string
}

// criteria are the search keys a searcher chooses among (API.md, Search).
var criteria = []string{"grantor_name", "uscc", "lei", "id_number", "registration_number", "serial_number"}

// criterionFields are the fields of c by their criterion's name.
func criterionFields(c *registry.Criteria) map[string]*string {
	return map[string]*string{"grantor_name": &c.GrantorName, "uscc": &c.USCC, "lei": &c.LEI, "id_number": &c.IDNumber,
		"registration_number": &c.RegistrationNumber, "serial_number": &c.SerialNumber}
}

// search handles POST /search: the search is made and stored, and the
// browser sent to its result.
func (s *site) search(w http.ResponseWriter, r *http.Request, c *call) error {
	f := r.PostForm
	form := url.Values{"criterion": {f.Get("criterion")}, "value": {f.Get("value")}, "as_of": {f.Get("as_of")}, "include_inactive": {f.Get("include_inactive")}}
	c.audited(auth.Search, "")
	req := registry.SearchRequest{IncludeInactive: f.Get("include_inactive") != ""}
	var errs []registry.FieldError
	value := f.Get("value")
	if field, ok := criterionFields(&req.Criteria)[f.Get("criterion")]; ok {
		*field = value
	} else {
		errs = append(errs, registry.Broken("criterion", registry.RuleRequired, "is required"))
	}
	if asOf := f.Get("as_of"); asOf != "" {
		t, ok := parseLocal(asOf)
		if !ok {
			errs = append(errs, registry.Broken("as_of", registry.RuleDate, "must be a date such as 2026-11-26"))
		}
		req.AsOf = &t
	}
	data := searchForm{Criteria: criteria, Key: f.Get("idempotency_key")}
	if len(errs) > 0 {
		return s.formFailed(w, c, "search", data, form, "", &registry.ValidationError{Errors: errs})
	}
	if value == "" {
		// The service names the empty criterion; the page shows it at the value.
		return s.formFailed(w, c, "search", data, form, "", registry.Broke("value", registry.RuleRequired, "is required"))
	}
	idempotent(r, c)
	number, _, err := s.svc.Search(c.ctx(), c.caller, req)
	if err != nil {
		var verr *registry.ValidationError
		if errors.As(err, &verr) {
			for i, fe := range verr.Errors {
				if strings.HasPrefix(fe.Field, "criteria") {
					verr.Errors[i].Field = "value"
				}
			}
		}
		return s.formFailed(w, c, "search", data, form, "", err)
	}
	http.Redirect(w, r, "/searches/"+number, http.StatusSeeOther)
	return nil
}

// storedSearch reads a search certificate as the page shows it.
func (s *site) storedSearch(c *call, number string) (registry.SearchCertificate, error) {
	c.audited(auth.ReadSearch, number)
	var out registry.SearchCertificate
	body, err := s.svc.StoredSearch(c.ctx(), c.caller, number)
	if err != nil {
		return out, err
	}
	return out, json.Unmarshal(body, &out)
}

// searchResult handles GET /searches/{number}: the results with each
// registration's history and objections, and the similar names.
func (s *site) searchResult(w http.ResponseWriter, r *http.Request, c *call) error {
	cert, err := s.storedSearch(c, r.PathValue("number"))
	if err != nil {
		return err
	}
	s.render(w, c, http.StatusOK, "search_result", &cert)
	return nil
}

// certificatePage is a printable certificate with the QR code of its
// verification address.
type certificatePage struct {
	VerifyURL string
	Search    *registry.SearchCertificate
	Reg       *registry.Registration
}

func (s *site) verifyURL(r *http.Request, number string) string {
	base := strings.TrimSuffix(s.opts.PublicURL, "/")
	if base == "" {
		scheme := "http"
		if r.TLS != nil || s.opts.SecureCookies {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + "/verify?number=" + url.QueryEscape(number)
}

// searchCertificate handles GET /searches/{number}/certificate.
func (s *site) searchCertificate(w http.ResponseWriter, r *http.Request, c *call) error {
	cert, err := s.storedSearch(c, r.PathValue("number"))
	if err != nil {
		return err
	}
	s.render(w, c, http.StatusOK, "search_certificate", certificatePage{VerifyURL: s.verifyURL(r, cert.Number), Search: &cert})
	return nil
}

// registrationCertificate handles GET /registrations/{number}/certificate.
func (s *site) registrationCertificate(w http.ResponseWriter, r *http.Request, c *call) error {
	number := r.PathValue("number")
	c.audited(auth.ReadRegistration, number)
	reg, err := s.svc.Registration(c.ctx(), c.caller, number)
	if err != nil {
		return err
	}
	s.render(w, c, http.StatusOK, "registration_certificate", certificatePage{VerifyURL: s.verifyURL(r, reg.Number), Reg: &reg})
	return nil
}
