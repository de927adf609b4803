package web

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/registry"
)

// auditFilters are the audit page's filters, by their query names; action
// may be given many times.
var auditFilters = []string{"actor_email", "organization_name", "actor", "organization", "action", "target", "outcome", "from", "to"}

// actorKinds are the kinds of actor the page's filter offers.
var actorKinds = []string{string(audit.UserActor), string(audit.BootstrapAdmin), string(audit.Anonymous), string(audit.System)}

type auditPage struct {
	Outcomes   []string
	ActorKinds []string
	Actions    []actionGroup
	Page       registry.Page[registry.AuditEntry]
	Next       string
	Export     string
}

// actionGroup is a heading of the actions an auditor chooses from.
type actionGroup struct {
	Name    string
	Actions []string
}

// actionGroups puts every action of the register under the heading of what
// an auditor looks for, by the noun the action's name begins with.
func actionGroups() []actionGroup {
	heading := map[string]string{
		"organization": "accounts", "user": "accounts", "token": "accounts", "me": "accounts",
		"registration": "registrations", "objection": "registrations",
		"search": "searches", "certificate": "searches", "statistics": "searches",
		"draft": "work", "attachment": "work", "party": "work", "notice": "work", "watch": "work", "webhook": "work",
	}
	groups := []actionGroup{{Name: "accounts"}, {Name: "registrations"}, {Name: "searches"}, {Name: "work"}, {Name: "oversight"}}
	for _, a := range auth.Actions() {
		noun, _, _ := strings.Cut(string(a), ".")
		i := slices.IndexFunc(groups, func(g actionGroup) bool { return g.Name == heading[noun] })
		if i < 0 {
			i = len(groups) - 1
		}
		groups[i].Actions = append(groups[i].Actions, string(a))
	}
	return groups
}

// auditRequest reads the audit filters; from and to are Beijing date-times
// in the form, RFC 3339 to the service.
func auditRequest(q url.Values) (registry.AuditRequest, url.Values, []registry.FieldError) {
	form := url.Values{}
	for _, k := range auditFilters {
		if k == "action" {
			for _, a := range q["action"] {
				if a != "" {
					form.Add(k, a)
				}
			}
			continue
		}
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
	data := auditPage{Outcomes: []string{"success", "denied", "invalid", "error"}, ActorKinds: actorKinds, Actions: actionGroups(),
		Export: "/audit/export?" + form.Encode()}
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

// ActionName is an audited action's name in the page's language; an action
// the catalog does not know is shown by its code.
func (p *Page) ActionName(code string) (string, error) {
	if _, ok := p.v.catalogs[p.Lang]["action."+code]; ok {
		return p.T("action." + code)
	}
	return code, nil
}

// IsActorKind reports whether an actor filter names a kind of actor rather
// than a user's id.
func (p *Page) IsActorKind(v string) bool { return slices.Contains(actorKinds, v) }

// auditDetail is an audit entry's detail in the page's language: lines of
// translated words, and the detail as recorded when the lines retell it.
type auditDetail struct {
	Lines []string
	// Recorded is the detail as the trail holds it (and its chain
	// hashes), for an auditor who must quote it; empty when Lines is it.
	Recorded string
}

// The details the registry writes, in the forms registry and httpx give
// them. A detail in none of these forms is shown as it was recorded.
var (
	eventDetail   = regexp.MustCompile(`^([a-z_]+) ([0-9]{20})$`)
	refusalDetail = regexp.MustCompile(`^([a-z_]+): `)
	lateDetail    = regexp.MustCompile(` \(recorded late: refused at (\S+)\)$`)
	tallyDetail   = regexp.MustCompile(` \(and ([0-9]+) more requests from (\S+) refused by a rate limit in the second from (\S+)\)$`)
	burstDetail   = regexp.MustCompile(`^([0-9]+) searches by identity number within (\S+): the cap; further ones are refused until (\S+)$`)
	filterDetail  = regexp.MustCompile(`([a-z_]+)=("(?:[^"\\]|\\.)*")`)
)

const supersededDetail = "a pending sign-up with this USCC, superseded by an organization the registry created"

// Detail translates an audit entry's detail.
func (p *Page) Detail(detail string) (auditDetail, error) {
	d := auditDetail{Recorded: detail}
	if detail == "" {
		return auditDetail{}, nil
	}
	has := func(key string) bool { _, ok := p.v.catalogs[p.Lang][key]; return ok }
	line := func(key string, args ...any) error {
		msg, err := p.T(key, args...)
		d.Lines = append(d.Lines, msg)
		return err
	}
	kv := func(labelKey, value string) error {
		label, err := p.T(labelKey)
		if err != nil {
			return err
		}
		return line("audit.kv", label, value)
	}
	when := func(s string) string {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return s
		}
		v := p.Time(registry.At(t))
		return v
	}
	var err error
	switch m := eventDetail.FindStringSubmatch(detail); {
	case m != nil && has("event."+m[1]):
		event, _ := p.T("event." + m[1])
		err = kv("audit.detail.event", event+" "+m[2])
	case strings.HasPrefix(detail, "id_number "):
		err = kv("audit.detail.id_number", strings.TrimPrefix(detail, "id_number "))
	case detail == supersededDetail:
		err = line("audit.detail.signup_superseded")
	case burstDetail.MatchString(detail):
		m := burstDetail.FindStringSubmatch(detail)
		err = line("audit.detail.id_burst", m[2], m[1], when(m[3]))
	case strings.HasPrefix(detail, "actor=") && filterDetail.MatchString(detail):
		err = p.filterLines(&d, detail, kv)
	case refusalDetail.MatchString(detail) && has("error."+refusalDetail.FindStringSubmatch(detail)[1]):
		rest := detail
		var extra []func() error
		if m := tallyDetail.FindStringSubmatch(rest); m != nil {
			rest = strings.TrimSuffix(rest, m[0])
			extra = append(extra, func() error { return line("audit.detail.more_refused", m[1], m[2], when(m[3])) })
		}
		if m := lateDetail.FindStringSubmatch(rest); m != nil {
			rest = strings.TrimSuffix(rest, m[0])
			extra = append(extra, func() error { return line("audit.detail.late", when(m[1])) })
		}
		if strings.HasSuffix(rest, " (web)") {
			extra = append(extra, func() error { return line("audit.detail.via_web") })
		}
		reason, _ := p.T("error." + refusalDetail.FindStringSubmatch(detail)[1])
		err = kv("audit.detail.refusal", reason)
		for _, f := range slices.Backward(extra) {
			if err == nil {
				err = f()
			}
		}
	default:
		return auditDetail{Lines: []string{detail}}, nil
	}
	return d, err
}

// filterLines retells an export's filters (key="value" …), the set ones
// only, with actions, outcomes and kinds of actor by their names.
func (p *Page) filterLines(d *auditDetail, detail string, kv func(string, string) error) error {
	label, err := p.T("audit.detail.filters")
	if err != nil {
		return err
	}
	d.Lines = append(d.Lines, label)
	for _, m := range filterDetail.FindAllStringSubmatch(detail, -1) {
		v, err := strconv.Unquote(m[2])
		if err != nil || v == "" {
			continue
		}
		switch m[1] {
		case "action":
			var names []string
			for _, a := range strings.Split(v, ",") {
				n, _ := p.ActionName(a)
				names = append(names, n)
			}
			sep, _ := p.T("list.sep")
			v = strings.Join(names, sep)
		case "outcome":
			if n, err := p.T("outcome." + v); err == nil {
				v = n
			}
		case "actor":
			if p.IsActorKind(v) {
				v, _ = p.T("actor." + v)
			}
		}
		if err := kv("audit.filter."+m[1], v); err != nil {
			return err
		}
	}
	if len(d.Lines) == 1 {
		none, _ := p.T("audit.filter.none")
		d.Lines = nil
		return kv("audit.detail.filters", none)
	}
	return nil
}
