package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/registry"
)

// searchPage handles GET /search.
func (s *site) searchPage(w http.ResponseWriter, r *http.Request, c *call) error {
	if !c.caller.Can(auth.Search) {
		c.audited(auth.Search, "")
		return registry.Forbidden(c.caller.Principal, auth.Search)
	}
	// A similar name's link opens the form filled in with it, and a search
	// sent after the session ended comes back filled in as it was typed.
	q := r.URL.Query()
	form := url.Values{"criterion": {"grantor_name"}, "value": {q.Get("value")}, "as_of": {q.Get("as_of")}, "include_inactive": {q.Get("include_inactive")}}
	if c := q.Get("criterion"); slices.Contains(criteria, c) {
		form.Set("criterion", c)
	}
	s.renderForm(w, c, http.StatusOK, "search", searchForm{Criteria: criteria, Key: newSecret()}, form, nil)
	return nil
}

type searchForm struct {
	Criteria []string
	Key      string
}

// criteria are the search keys a searcher chooses among (docs/api.md).
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
	// Digest is what /verify shows for the certificate's number, printed
	// so that a reader can compare the two.
	Digest string
	Search *registry.SearchCertificate
	Reg    *registry.Registration
}

// digest is the digest the registry certifies for number, as /verify and
// GET /certificates/{number} give it.
func (s *site) digest(c *call, number string) (string, error) {
	cert, err := s.svc.Certificate(c.ctx(), c.caller, number)
	return cert.Digest, err
}

// searchCertificate handles GET /searches/{number}/certificate.
func (s *site) searchCertificate(w http.ResponseWriter, r *http.Request, c *call) error {
	cert, err := s.storedSearch(c, r.PathValue("number"))
	if err != nil {
		return err
	}
	digest, err := s.digest(c, cert.Number)
	if err != nil {
		return err
	}
	s.render(w, c, http.StatusOK, "search_certificate", certificatePage{VerifyURL: s.verifyURL(r, cert.Number), Digest: digest, Search: &cert})
	return nil
}

// pdfLanguage is ?lang= (zh or en), else the page's language.
func pdfLanguage(r *http.Request, c *call) string {
	if lang := r.URL.Query().Get("lang"); lang == "zh" || lang == "en" {
		return lang
	}
	return c.lang
}

// sendPDF writes a certificate made as PDF, or says it cannot be made.
func (s *site) sendPDF(w http.ResponseWriter, c *call, number, lang string, pdf []byte, err error) error {
	var busy *registry.UnavailableError
	if errors.As(err, &busy) || errors.Is(err, context.Canceled) {
		return err
	}
	if err != nil {
		s.log.Error("a PDF certificate could not be made", "error", err, "number", number, "request_id", c.caller.RequestID)
		return &registry.UnavailableError{RetryAfter: time.Minute, Reason: "the certificate cannot be made as a PDF here just now"}
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="`+number+`-`+lang+`.pdf"`)
	_, _ = w.Write(pdf)
	return nil
}

// searchPDF handles GET /searches/{number}/certificate.pdf.
func (s *site) searchPDF(w http.ResponseWriter, r *http.Request, c *call) error {
	search, err := s.storedSearch(c, r.PathValue("number"))
	if err != nil {
		return err
	}
	cert, err := s.svc.Certificate(c.ctx(), c.caller, search.Number)
	if err != nil {
		return err
	}
	lang := pdfLanguage(r, c)
	pdf, err := s.opts.Certificates.Search(c.ctx(), search, cert, lang, s.verifyURL(r, search.Number))
	return s.sendPDF(w, c, search.Number, lang, pdf, err)
}

// registrationPDF handles GET /registrations/{number}/certificate.pdf.
func (s *site) registrationPDF(w http.ResponseWriter, r *http.Request, c *call) error {
	number := r.PathValue("number")
	c.audited(auth.ReadRegistration, number)
	reg, err := s.svc.Registration(c.ctx(), c.caller, number)
	if err != nil {
		return err
	}
	cert, err := s.svc.Certificate(c.ctx(), c.caller, reg.Number)
	if err != nil {
		return err
	}
	lang := pdfLanguage(r, c)
	pdf, err := s.opts.Certificates.Registration(c.ctx(), reg, cert, lang, s.verifyURL(r, reg.Number))
	return s.sendPDF(w, c, reg.Number, lang, pdf, err)
}
