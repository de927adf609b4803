package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skip2/go-qrcode"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/display"
	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/words"
)

//go:embed templates/*.html static
var files embed.FS

// Languages are the interface's languages; the first is the default.
var Languages = words.Languages

type views struct {
	pages    map[string]*template.Template
	catalogs map[string]map[string]string
	strict   bool
}

func loadViews(strict bool) (*views, error) {
	catalogs, err := words.Catalogs()
	if err != nil {
		return nil, err
	}
	pages, err := parsedPages()
	if err != nil {
		return nil, err
	}
	return &views{pages: pages, catalogs: catalogs, strict: strict}, nil
}

// parsedPages parses each page with the layout, once for the process: the
// templates are embedded and their functions fixed, and a parsed template
// is safe to execute from many goroutines, so every site a process makes
// (a test makes one per test) shares them. Parsing took a fifth of the web
// tests' own CPU when each site parsed its own.
var parsedPages = sync.OnceValues(func() (map[string]*template.Template, error) {
	pages := map[string]*template.Template{}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		page := strings.TrimSuffix(path.Base(name), ".html")
		if page == "layout" {
			continue
		}
		t, err := template.New(page).Funcs(funcs).ParseFS(files, "templates/layout.html", name)
		if err != nil {
			return nil, err
		}
		pages[page] = t
	}
	return pages, nil
})

// Pages lists the names of the interface's pages.
func (v *views) names() []string {
	var out []string
	for n := range v.pages {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

var funcs = template.FuncMap{
	"add": func(a, b int) int { return a + b },
	"sub": func(a, b int) int { return a - b },
	"mul": func(a, b int) int { return a * b },
	"join": func(sep string, xs []string) string {
		return strings.Join(xs, sep)
	},
	"deref": func(t *registry.Time) registry.Time {
		if t == nil {
			return registry.Time{}
		}
		return *t
	},
	"list": func(xs ...string) []string { return xs },
	// has reports whether xs holds x (a repeated form value's choice).
	"has": func(xs []string, x string) bool { return slices.Contains(xs, x) },
	// at is xs[i], or "" past its end.
	"at": func(xs []string, i int) string {
		if i < 0 || i >= len(xs) {
			return ""
		}
		return xs[i]
	},
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, fmt.Errorf("dict takes pairs")
		}
		m := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("dict key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
	"blankParty": func() partyRow { return partyRow{Type: "organization"} },
	"blankItem":  func() registry.ItemInput { return registry.ItemInput{Type: "equipment"} },
	"newKey":     newSecret,
	"errid":      errorID,
	"asset":      asset,
}

// errorID is the id of the message beside field (a form error's key, such
// as amend.add_grantors[0].uscc), for the summary's links to point at.
func errorID(field string) string {
	b := []byte("err-" + field)
	for i, c := range b[4:] {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			b[4+i] = '-'
		}
	}
	return string(b)
}

// Page is what every template sees: the request's language and account, the
// page's own data, and a form's values and field errors.
type Page struct {
	Lang string
	Path string
	CSRF string
	Me   *registry.Me
	Data any
	// Form holds the values a form is shown with again; Errors its fields'
	// translated errors by the request's field path (grantors[0].uscc).
	Form   url.Values
	Errors map[string]string
	// Notice is a translated message about the last action.
	Notice string
	// Sandbox: the register is a test register, and every page says so.
	Sandbox bool

	v      *views
	caller registry.Caller
}

// T translates key, formatting args into it. A key missing from the
// catalog is an error in strict mode, else the English text or the key.
func (p *Page) T(key string, args ...any) (string, error) {
	return p.v.translate(p.Lang, key, args...)
}

func (v *views) translate(lang, key string, args ...any) (string, error) {
	key = words.Counted(v.catalogs[lang], key, args...)
	msg, ok := v.catalogs[lang][key]
	if !ok {
		if v.strict {
			return "", fmt.Errorf("no %s translation for %q", lang, key)
		}
		if msg, ok = v.catalogs["en"][key]; !ok {
			msg = key
		}
	}
	if len(args) > 0 {
		msg = fmt.Sprintf(msg, args...)
	}
	return msg, nil
}

// With is the page with other data, for a shared template that needs both
// the page (its language, its errors) and a part of the data.
func (p *Page) With(data any) *Page {
	q := *p
	q.Data = data
	return &q
}

// Individual reports whether the page is shown to a user of an individual's
// account, who acts as a person and not for an organization.
func (p *Page) Individual() bool {
	return p.Me != nil && p.Me.Organization != nil && p.Me.Organization.Individual()
}

// Time shows an instant in Beijing time, named as the page's language
// names it (北京时间, UTC+8): "CST" means other zones to many readers.
func (p *Page) Time(t registry.Time) string { return display.Time(t, p.Lang) }

// Money shows an amount with its currency, its figures grouped by
// thousands and, for renminbi, in capital numerals too, as the PDF
// certificates print it.
func (p *Page) Money(m registry.Money) string { return display.Money(m, p.Lang) }

// TimeText shows an instant given as RFC 3339 text (a notice's detail) in
// Beijing time; text that is not one is shown as it is.
func (p *Page) TimeText(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return p.Time(registry.At(t))
}

// Group names a statistics row's group in the page's language: a month as
// it is, a kind or a province by its name (a province code without one as
// it is).
func (p *Page) Group(by, label string) (string, error) {
	switch {
	case by == "kind" && label == "":
		return p.T("stats.searches")
	case by == "kind":
		return p.T("kind." + label)
	case by == "province" && label == "":
		return p.T("province.none")
	case by == "province":
		if _, ok := p.v.catalogs[p.Lang]["province."+label]; ok {
			return p.T("province." + label)
		}
	}
	return label, nil
}

// KindName is a kind of registration's name; one the register does not
// know (a draft is unchecked) is shown as it is.
func (p *Page) KindName(kind string) (string, error) {
	if _, ok := p.v.catalogs[p.Lang]["kind."+kind]; ok {
		return p.T("kind." + kind)
	}
	return kind, nil
}

// Can reports whether the signed-in account may do action.
func (p *Page) Can(action string) bool { return p.caller.Can(auth.Action(action)) }

// Has reports whether the signed-in account holds role.
func (p *Page) Has(role string) bool { return p.caller.Has(auth.Role(role)) }

// Own reports whether the signed-in account's organization is organizationID.
func (p *Page) Own(organizationID string) bool {
	return organizationID != "" && p.caller.OrganizationID == organizationID
}

// forms name the registration page's forms by the prefix of their errors.
var forms = map[string]string{"amend": "act.amend", "extend": "act.extend", "cancel": "act.cancel", "revoke": "act.revoke",
	"objection": "act.object", "case": "act.case_notice", "withdraw": "act.withdraw"}

// problem is one of a page's errors as the summary at its top lists it.
type problem struct {
	// ID is the id of the message beside its field, which the summary
	// links to.
	ID string
	// Label names the form on a page of several and the field, as far as
	// the page has names for them ("变更登记 · 最高债权额").
	Label, Message string
}

// fieldLabels are the labels of fields by their error's path, a list's
// index left out; lists are named by their row's label, which takes the
// row's number.
var fieldLabels = map[string]string{
	"kind": "reg.kind", "period_months": "file.period_months", "description": "file.description", "collateral.description": "file.description",
	"max_secured_amount": "reg.max_amount", "max_secured_amount.amount": "reg.max_amount", "max_secured_amount.currency": "file.currency",
	"collateral.attachments": "file.attachments", "add_attachments": "act.add_attachments", "grantors": "reg.grantors", "secured_parties": "reg.secured_parties",
	"statement": "act.statement", "interest": "act.interest", "court": "act.court", "case_number": "act.case_number", "accepted_on": "act.accepted_on",
	"authority": "act.authority", "document_number": "act.document_number", "reason": "act.reason", "note": "act.note",
	"grantors[]": "file.grantor_row", "secured_parties[]": "file.secured_row", "add_grantors[]": "file.addg_row",
	"collateral.items[]": "file.item_row", "add_items[]": "file.item_row",
	"name": "party.name", "uscc": "party.uscc", "id_number": "party.id_number", "country": "party.country",
	"registration_number": "party.registration_number", "type": "party.type", "serial_number": "item.serial_number",
	"address": "party.address", "legal_representative": "party.legal_representative", "financial_institution_code": "party.financial_institution_code",
	"agreed_with_grantor": "file.agreed_with_grantor", "principal_amount": "reg.principal_amount", "principal_amount.amount": "reg.principal_amount",
	"principal_amount.currency": "file.currency", "security_scope": "reg.security_scope", "transfer_restriction": "reg.transfer_restriction",
}

var listIndex = regexp.MustCompile(`^(.*)\[(\d+)\](?:\.(\w+))?$`)

// fieldLabel names a field by its error's path (grantors[0].uscc is
// "担保人 1 · 统一社会信用代码"), or "" when it has no label.
func (p *Page) fieldLabel(field string) (string, error) {
	if key, ok := fieldLabels[field]; ok {
		return p.T(key)
	}
	m := listIndex.FindStringSubmatch(field)
	if m == nil {
		return "", nil
	}
	key, ok := fieldLabels[m[1]+"[]"]
	if !ok {
		return "", nil
	}
	i, _ := strconv.Atoi(m[2])
	row, err := p.T(key, i+1)
	if err != nil || m[3] == "" {
		return row, err
	}
	sub := fieldLabels[m[3]]
	if m[1] != "grantors" && m[1] != "secured_parties" && m[1] != "add_grantors" && m[3] == "type" {
		sub = "item.type"
	} else if m[3] == "description" {
		sub = "item.description"
	}
	if sub == "" {
		return row, nil
	}
	name, err := p.T(sub)
	return row + " · " + name, err
}

// Problems are the page's errors for the summary at its top, in the order
// of their fields' names; a page's own error ("form") is shown above the
// form already and is left out.
func (p *Page) Problems() ([]problem, error) {
	var out []problem
	for _, field := range slices.Sorted(maps.Keys(p.Errors)) {
		if field == "form" {
			continue
		}
		var names []string
		path := field
		if form, rest, ok := strings.Cut(field, "."); ok {
			if key, ok := forms[form]; ok {
				name, err := p.T(key)
				if err != nil {
					return nil, err
				}
				names, path = append(names, name), rest
			}
		}
		label, err := p.fieldLabel(path)
		if err != nil {
			return nil, err
		}
		if label != "" {
			names = append(names, label)
		}
		out = append(out, problem{ID: errorID(field), Label: strings.Join(names, " · "), Message: p.Errors[field]})
	}
	return out, nil
}

// Err is the translated error of a form field, or "".
func (p *Page) Err(field string) string { return p.Errors[field] }

// Val is a form value as the user last gave it.
func (p *Page) Val(name string) string { return p.Form.Get(name) }

// Vals are a repeated form value's values.
func (p *Page) Vals(name string) []string { return p.Form[name] }

// Other is the other language, for the switch.
func (p *Page) Other() string {
	if p.Lang == "en" {
		return "zh"
	}
	return "en"
}

// QR draws text as a QR code in SVG.
func (p *Page) QR(text string) (template.HTML, error) { return qrSVG(text) }

func qrSVG(text string) (template.HTML, error) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return "", err
	}
	q.DisableBorder = false
	bits := q.Bitmap()
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="QR"><rect width="100%%" height="100%%" fill="#fff"/><path fill="#000" d="`, len(bits), len(bits))
	for y, row := range bits {
		for x, on := range row {
			if on {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x, y)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return template.HTML(b.String()), nil // #nosec: only digits and our own markup
}

// render writes page name with data in the call's language. The page is
// made in memory first, so a failure is a clean 500, not half a page.
func (s *site) render(w http.ResponseWriter, c *call, status int, name string, data any) {
	s.renderForm(w, c, status, name, data, nil, nil)
}

func (s *site) renderForm(w http.ResponseWriter, c *call, status int, name string, data any, form url.Values, errs map[string]string) {
	p := &Page{Lang: c.lang, Path: c.r.URL.RequestURI(), CSRF: c.csrf, Me: c.me, Data: data, Form: form, Errors: errs, v: s.views, caller: c.caller,
		Sandbox: s.svc.Sandbox()}
	if p.Form == nil {
		p.Form = url.Values{}
	}
	if n := c.r.URL.Query().Get("done"); n != "" {
		if msg, err := s.views.translate(c.lang, "notice."+n); err == nil && !strings.HasPrefix(msg, "notice.") {
			p.Notice = msg
		}
	}
	var b bytes.Buffer
	if err := s.views.execute(&b, name, p); err != nil {
		s.log.Error("page not rendered", "page", name, "error", err, "request_id", c.caller.RequestID)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("internal error / 内部错误\n"))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func (v *views) execute(b *bytes.Buffer, name string, p *Page) error {
	t, ok := v.pages[name]
	if !ok {
		return fmt.Errorf("no page %q", name)
	}
	p.v = v
	return t.ExecuteTemplate(b, "layout", p)
}

// assetVersions is each static file's version: the start of its SHA-256,
// which the pages put in its address (asset), so that a browser may keep
// a file as long as it likes and still fetches a changed one at once.
var assetVersions = sync.OnceValue(func() map[string]string {
	versions := map[string]string{}
	err := fs.WalkDir(files, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		versions[strings.TrimPrefix(name, "static/")] = hex.EncodeToString(sum[:6])
		return nil
	})
	if err != nil {
		panic(err) // the files are embedded: read at build time
	}
	return versions
})

// asset is the address of the static file name in its current version.
func asset(name string) (string, error) {
	v, ok := assetVersions()[name]
	if !ok {
		return "", fmt.Errorf("no static file %q", name)
	}
	return "/static/" + name + "?v=" + v, nil
}

// staticFiles serves the pages' own styles and script, file by file: a
// folder is 404, never a listing. Asked for in its current version (the
// address asset gives), a file may be kept a year without asking again
// (immutable: the next version has another address); asked for otherwise,
// it is checked again each time, as the pages are.
func staticFiles() http.Handler {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err)
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		if st, err := fs.Stat(sub, name); name == "" || err != nil || st.IsDir() {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Del("Vary") // the same file whoever asks
		if v := r.URL.Query().Get("v"); v != "" && v == assetVersions()[name] {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}

// refusal is a refusal's message in lang: what its code means and, where
// the refusal says, what to do and when (the day an extension opens).
func (v *views) refusal(lang, code string, err error) string {
	var early *registry.ExtensionTooEarlyError
	if errors.As(err, &early) {
		if msg, terr := v.translate(lang, "error.extension_window_opens", display.Time(early.Opens, lang), early.Days); terr == nil {
			return msg
		}
	}
	var r *registry.Refusal
	if errors.As(err, &r) && r.Individual {
		if msg, ok := v.catalogs[lang]["error.not_for_individuals."+r.Limit]; ok {
			return msg
		}
		if msg, terr := v.translate(lang, "error.not_for_individuals"); terr == nil {
			return msg
		}
	}
	msg, _ := v.translate(lang, "error."+code)
	return msg
}

// fieldErrors translates a validation error into messages by field.
func (v *views) fieldErrors(lang string, verr *registry.ValidationError) map[string]string {
	out := map[string]string{}
	for _, fe := range verr.Errors {
		out[fe.Field] = v.fieldMessage(lang, fe)
	}
	return out
}

func (v *views) fieldMessage(lang string, fe registry.FieldError) string {
	if fe.Code != registry.CodeInvalidField {
		if msg, err := v.translate(lang, "error."+fe.Code); err == nil {
			return msg
		}
	}
	if fe.Rule != "" {
		var args []any
		if fe.ArgName != "" {
			args = []any{fe.Arg}
		}
		if msg, err := v.translate(lang, "field."+string(fe.Rule), args...); err == nil {
			return msg
		}
	}
	msg, _ := v.translate(lang, "error.invalid_field")
	if lang == "en" {
		return msg + ": " + fe.Message
	}
	return msg
}
