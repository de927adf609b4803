package web

import (
	"net/http"
	"net/url"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/registry"
)

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
	req := httpx.AuditRequest(q)
	req.From, req.To, req.Limit = instant("from"), instant("to"), ""
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
