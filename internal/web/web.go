// Package web is the registry's HTML interface: server-rendered pages over
// the same Service as the API, in Simplified Chinese (the default) and
// English. It serves every path outside /api/v1 behind httpx's handler, a
// peer of the API, and speaks plain net/http; no business rule lives here.
package web

import (
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/certpdf"
	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/registry"
)

// Options configure the web interface.
type Options struct {
	Logger *slog.Logger
	// PublicURL is the registry's address as certificates print it (in their
	// QR codes), such as https://register.example.cn; empty means the address
	// each request came to.
	PublicURL string
	// SecureCookies marks cookies Secure even on plain-HTTP requests, for a
	// registry behind a proxy that ends TLS. Requests over TLS always get
	// Secure cookies.
	SecureCookies bool
	// Strict makes a missing translation an error instead of a fallback;
	// tests turn it on.
	Strict bool
	// MaxBodyBytes limits a form's body (httpx.DefaultMaxBodyBytes unless
	// set).
	MaxBodyBytes int64
	// SessionTTL is how long a sign-in lasts (httpx.DefaultSessionTTL unless
	// set, and never longer than the registry's token lifetime).
	SessionTTL time.Duration
	// Certificates makes the PDF certificates (unsigned, with
	// certpdf.DefaultFonts, when nil).
	Certificates *certpdf.Maker
	// Refusals records refused requests in the audit trail, shared with the
	// API; when nil, an entry is written at once or not at all
	// (httpx.RefusalsNow). Its owner, not the site, closes it.
	Refusals *httpx.Refusals
}

type site struct {
	svc   *registry.Service
	opts  Options
	log   *slog.Logger
	views *views
	mux   *http.ServeMux
}

// New returns the handler of the web interface.
func New(svc *registry.Service, opts Options) (http.Handler, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = httpx.DefaultMaxBodyBytes
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = httpx.DefaultSessionTTL
	}
	if opts.Certificates == nil {
		opts.Certificates = certpdf.New(certpdf.Options{})
	}
	if opts.Refusals == nil {
		opts.Refusals = httpx.RefusalsNow(svc, opts.Logger)
	}
	v, err := loadViews(opts.Strict)
	if err != nil {
		return nil, err
	}
	s := &site{svc: svc, opts: opts, log: opts.Logger, views: v, mux: http.NewServeMux()}
	s.routes()
	return s, nil
}

// handler is a page: it renders, redirects, or returns an error that the
// site turns into an error page (and, for a refusal, an audit entry).
type handler func(w http.ResponseWriter, r *http.Request, c *call) error

// need says who may open a page before the service applies its own rules:
// whether a session is required (without one, the sign-in page), and the
// action a form takes, whose role is checked before its body is read.
type need struct {
	session bool
	action  auth.Action
}

var (
	anyone   = need{}
	signedIn = need{session: true}
)

// may is a form that takes action a: a signed-in user without a role for
// it is refused (and shown which role it needs) before a byte of the form
// is read. The service checks again, with what it alone knows.
func may(a auth.Action) need { return need{session: true, action: a} }

func (s *site) routes() {
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", staticFiles()))
	// Browsers ask for /favicon.ico whatever a page links to.
	s.mux.Handle("GET /favicon.ico", staticFiles())
	s.handle("GET /{$}", anyone, s.home)
	s.handle("/", anyone, func(http.ResponseWriter, *http.Request, *call) error { return registry.ErrNotFound })
	s.handle("GET /lang/{lang}", anyone, s.switchLanguage)
	s.handle("GET /verify", anyone, s.verify)
	s.handle("GET /statistics", anyone, s.statistics)
	s.handle("GET /signin", anyone, s.signInPage)
	s.handle("POST /signin", anyone, s.signIn)
	s.handle("POST /signout", signedIn, s.signOut)
	s.handle("GET /signup", anyone, s.signUpPage)
	s.handle("POST /signup", anyone, s.signUp)
	s.handle("GET /signup/submitted", anyone, s.signUpSubmitted)

	s.handle("GET /search", signedIn, s.searchPage)
	s.handle("POST /search", may(auth.Search), s.search)
	s.handle("GET /searches", signedIn, s.history)
	s.handle("GET /searches/{number}", signedIn, s.searchResult)
	s.handle("GET /searches/{number}/certificate", signedIn, s.searchCertificate)
	s.handle("GET /searches/{number}/certificate.pdf", signedIn, s.searchPDF)

	s.handle("GET /registrations", signedIn, s.myRegistrations)
	s.handle("GET /registrations/new", signedIn, s.filingPage)
	s.handle("POST /registrations", may(auth.FileRegistration), s.file)
	s.handle("GET /registrations/{number}", signedIn, s.registration)
	s.handle("GET /registrations/{number}/certificate", signedIn, s.registrationCertificate)
	s.handle("GET /registrations/{number}/certificate.pdf", signedIn, s.registrationPDF)
	s.handle("POST /registrations/{number}/amendment", may(auth.AmendRegistration), s.amend)
	s.handle("POST /registrations/{number}/extension", may(auth.ExtendRegistration), s.extend)
	s.handle("POST /registrations/{number}/cancellation", may(auth.CancelRegistration), s.cancel)
	s.handle("POST /registrations/{number}/modification-code", may(auth.RotateModificationCode), s.rotateCode)
	s.handle("POST /registrations/{number}/objections", may(auth.FileObjection), s.fileObjection)
	s.handle("POST /registrations/{number}/objections/{objection}/withdrawal", may(auth.WithdrawObjection), s.withdrawObjection)
	s.handle("POST /registrations/{number}/objections/{objection}/case-notice", may(auth.SubmitCaseNotice), s.caseNotice)
	s.handle("POST /registrations/{number}/revocation", may(auth.Revoke), s.revoke)

	s.handle("GET /admin/organizations", signedIn, s.organizations)
	s.handle("POST /admin/organizations/{id}/approval", may(auth.ApproveOrganization), s.approveOrganization)
	s.handle("POST /admin/organizations/{id}/suspension", may(auth.SuspendOrganization), s.suspendOrganization)
	s.handle("POST /admin/organizations/{id}/rejection", may(auth.RejectOrganization), s.rejectOrganization)
	s.handle("GET /admin/revocations", signedIn, s.revocations)
	s.handle("GET /admin/users", signedIn, s.users)
	s.handle("POST /admin/users", may(auth.CreateUser), s.createUser)
	s.handle("GET /admin/users/{id}", signedIn, s.userPage)
	s.handle("POST /admin/users/{id}", may(auth.UpdateUser), s.updateUser)
	s.handle("POST /admin/users/{id}/suspension", may(auth.SuspendUser), s.suspendUser)
	s.handle("POST /admin/users/{id}/reinstatement", may(auth.ReinstateUser), s.reinstateUser)
	s.handle("GET /registrations/bulk", signedIn, s.bulkForm)
	s.handle("POST /registrations/bulk", may(auth.FileRegistration), s.bulkFile)
	s.handle("GET /registrations/changes", signedIn, s.changesForm)
	s.handle("POST /registrations/changes", may(auth.ChangeRegistrations), s.changeBatch)
	s.handle("GET /attachments", signedIn, s.attachmentPage)
	s.handle("POST /attachments", may(auth.Attach), s.upload)
	s.handle("GET /attachments/{id}", signedIn, s.attachmentFile)
	s.handle("GET /parties", signedIn, s.parties)
	s.handle("POST /parties", may(auth.SaveParty), s.saveParty)
	s.handle("POST /parties/{id}/deletion", may(auth.DeleteParty), s.deleteParty)
	s.handle("GET /drafts", signedIn, s.drafts)
	s.handle("POST /drafts/{id}/deletion", may(auth.DeleteDraft), s.deleteDraft)
	s.handle("GET /notices", signedIn, s.notices)
	s.handle("POST /notices/{id}/read", may(auth.MarkNoticeRead), s.readNotice)
	s.handle("GET /watches", signedIn, s.watches)
	s.handle("POST /watches", may(auth.CreateWatch), s.createWatch)
	s.handle("POST /watches/{id}/deletion", may(auth.DeleteWatch), s.deleteWatch)
	s.handle("GET /webhooks", signedIn, s.webhooks)
	s.handle("POST /webhooks", may(auth.CreateWebhook), s.createWebhook)
	s.handle("POST /webhooks/{id}/deletion", may(auth.DeleteWebhook), s.deleteWebhook)
	s.handle("GET /webhooks/{id}/deliveries", signedIn, s.deliveries)
	s.handle("GET /audit", signedIn, s.auditTrail)
	s.handle("GET /audit/export", signedIn, s.exportAudit)
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Pages load their own styles, script and (inline SVG) QR codes only,
	// and post forms only to the registry.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Cookie")
	// The API sends no referrer at all; a page must, to its own site, or
	// the browser posts its forms with "Origin: null" and they fail the
	// CSRF check.
	h.Set("Referrer-Policy", "same-origin")
	s.mux.ServeHTTP(w, r)
	httpx.From(r).Route = r.Pattern
}

// call is one request to a page: who makes it, in which language, and what
// it is audited as.
type call struct {
	caller registry.Caller
	me     *registry.Me
	lang   string
	csrf   string
	r      *http.Request
	// ended is set when the request came with a session that no longer
	// works (it expired, was signed out or suspended).
	ended bool
	// action and target are what a refusal is recorded as.
	action   auth.Action
	target   string
	recorded bool
}

func (c *call) ctx() context.Context { return c.r.Context() }

// signedIn reports whether the request carries a working session.
func (c *call) signedIn() bool { return c.caller.UserID != "" || c.caller.Bootstrap }

// audited names what this request is audited as if it is refused.
func (c *call) audited(a auth.Action, target string) {
	c.action, c.target = a, target
}

func (s *site) handle(pattern string, n need, h handler) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		multipart := strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data")
		limit := s.opts.MaxBodyBytes
		if r.Method == http.MethodPost && multipart {
			// Only a multipart form may be large (a file), and it spills
			// to disk past httpx.LargeBody.
			limit = httpx.BodyLimit(r.URL.Path, limit)
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		c := &call{r: r, lang: language(r)}
		req := httpx.From(r)
		c.caller = registry.Caller{Source: req.Client, RequestID: req.ID}
		if err := s.authenticate(w, r, c); err != nil {
			c.csrf = s.csrfToken(w, r, "")
			s.fail(w, c, err)
			return
		}
		session := ""
		if c.signedIn() {
			session = s.cookie(r, sessionCookie)
		}
		c.csrf = s.csrfToken(w, r, session)
		if n.session && !c.signedIn() {
			s.signInFirst(w, r, c)
			return
		}
		if r.Method == http.MethodPost {
			// Everything that needs no body is checked before it is read:
			// the role the form's action needs, and that the browser says
			// the form is this site's.
			if n.action != "" && !c.caller.Can(n.action) {
				c.audited(n.action, cmp.Or(r.PathValue("number"), r.PathValue("id")))
				s.fail(w, c, registry.Forbidden(c.caller.Principal, n.action))
				return
			}
			if !s.csrfSource(r) {
				s.fail(w, c, badForm())
				return
			}
			if r.ContentLength > limit {
				s.fail(w, c, formError(&http.MaxBytesError{Limit: limit}))
				return
			}
			release, err := req.AdmitBody(r)
			if err != nil {
				w.Header().Set("Retry-After", "1")
				s.fail(w, c, err)
				return
			}
			defer release()
			if multipart {
				err = s.readMultipart(r, c.csrf)
				if r.MultipartForm != nil {
					defer func() { _ = r.MultipartForm.RemoveAll() }()
				}
			} else if err = r.ParseForm(); err != nil {
				err = formError(err)
			} else if !csrfMatches(r.PostFormValue("csrf"), c.csrf) {
				err = badForm()
			}
			if err != nil {
				s.fail(w, c, err)
				return
			}
		}
		if err := h(w, r, c); err != nil {
			s.fail(w, c, err)
		}
	})
}

// readMultipart reads a multipart form whose first part is its CSRF token
// (the pages put it first, and browsers send parts in the form's order):
// the token is checked before the rest is read, and the rest, its files
// above all, is kept on disk past httpx.LargeBody, not in memory.
func (s *site) readMultipart(r *http.Request, token string) error {
	mr, err := r.MultipartReader()
	if err != nil {
		return formError(err)
	}
	part, err := mr.NextPart()
	if err != nil {
		return formError(err)
	}
	if part.FormName() != "csrf" {
		return badForm()
	}
	got, err := io.ReadAll(io.LimitReader(part, 256))
	if err != nil {
		return formError(err)
	}
	if !csrfMatches(string(got), token) {
		return badForm()
	}
	form, err := mr.ReadForm(httpx.LargeBody)
	if err != nil {
		return formError(err)
	}
	form.Value["csrf"] = []string{string(got)}
	r.MultipartForm = form
	r.PostForm = url.Values(form.Value)
	r.Form = r.URL.Query()
	for k, v := range r.PostForm {
		r.Form[k] = append(v, r.Form[k]...)
	}
	return nil
}

// formError is a form body that could not be read: too large, or not a form.
func formError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) || errors.Is(err, multipart.ErrMessageTooLarge) {
		return &httpx.Problem{Status: http.StatusRequestEntityTooLarge, Code: "payload_too_large", Detail: err.Error()}
	}
	return &httpx.Problem{Status: http.StatusBadRequest, Code: "malformed_request", Detail: err.Error()}
}

// badForm is a form that did not come from the registry's own page (no or a
// wrong CSRF token, or another site's Origin).
func badForm() error {
	return &httpx.Problem{Status: http.StatusForbidden, Code: "bad_form", Detail: "the form did not come from this registry's page"}
}

// fail answers a page's error with an error page in the user's language and
// records a refusal in the audit trail, as the API does.
func (s *site) fail(w http.ResponseWriter, c *call, err error) {
	p := s.refused(c, err)
	if p.Status >= 500 {
		s.log.Error("page failed", "error", err, "path", c.r.URL.Path, "request_id", c.caller.RequestID)
	}
	if p.Status == http.StatusUnauthorized {
		s.clearSession(w, c.r)
	}
	if need := neededRoles(c, p, err); need != nil {
		page := needsRolePage{Roles: need, Admins: s.admins(c)}
		if c.caller.Can(c.action) {
			// The role is needed for what the page is about, not for the
			// page: the page says why.
			page.BeyondOwn = string(c.action)
		}
		s.render(w, c, p.Status, "needs_role", page)
		return
	}
	page := errorPage{Code: p.Code, Status: p.Status, Message: s.views.refusal(c.lang, p.Code, err)}
	if n := c.r.PathValue("number"); n != "" && strings.HasPrefix(c.r.URL.Path, "/registrations/") && stale(err) {
		// A change refused on a registration's page: the way on is the
		// registration as it is now.
		page.Registration = n
	}
	s.render(w, c, p.Status, "error", page)
}

// needsRolePage says which role a page needs and who can give it, in
// place of a bare refusal.
type needsRolePage struct {
	Roles  []string
	Admins []registry.User
	// BeyondOwn, when set, is the action the user may take on what is its
	// organization's own but not on this (registration.read: a
	// registration it is not a party to).
	BeyondOwn string
}

// Staff reports whether only the registry's staff hold the roles needed, so
// that no organization's admin can give them.
func (p needsRolePage) Staff() bool {
	for _, r := range p.Roles {
		if !auth.Role(r).Staff() {
			return false
		}
	}
	return true
}

// neededRoles are the roles that a signed-in user refused for lack of one
// would need (nil when the refusal has another reason: another
// organization's account, a staff user's account): those the permission
// table gives the page's action, or those the service said it lacked (to
// read a registration of others, say).
func neededRoles(c *call, p *httpx.Problem, err error) []string {
	if p.Code != "forbidden" || !c.signedIn() || c.caller.Bootstrap || c.action == "" || c.caller.NotForIndividuals(c.action) {
		return nil
	}
	roles := auth.RolesFor(c.action)
	if c.caller.Can(c.action) {
		var r *registry.Refusal
		if !errors.As(err, &r) || len(r.Roles) == 0 {
			return nil
		}
		roles = r.Roles
	}
	var out []string
	for _, r := range roles {
		out = append(out, string(r))
	}
	return out
}

// refused records err's refusal in the audit trail, once, and returns the
// problem it is: the page shows it in place (a form with field errors) or
// as an error page.
func (s *site) refused(c *call, err error) *httpx.Problem {
	p := httpx.ProblemFor(err)
	if c.recorded || c.action == "" || p.Status < 400 {
		return p
	}
	c.recorded = true
	if aerr := s.opts.Refusals.Record(c.ctx(), c.caller, c.action, c.target, p, "web"); aerr != nil {
		s.log.Error("audit entry not written", "error", aerr, "request_id", c.caller.RequestID)
	}
	return p
}

type errorPage struct {
	Code   string
	Status int
	// Message says what happened, and when to try again if the refusal
	// says.
	Message string
	// Registration is the registration a refused change was to, to reload.
	Registration string
}

// signInFirst sends a request that needs a session to the sign-in page,
// which then leads back. The page says why when a session ended, and a
// form posted after its session ended is not lost without a word: the
// fields kept carries through sign-in come back filled in, and of any
// other form the page says it was not sent.
func (s *site) signInFirst(w http.ResponseWriter, r *http.Request, c *call) {
	next, keptForm := returnTo(r)
	q := url.Values{"next": {next}}
	switch {
	case keptForm:
		q.Set("done", "session_ended_kept")
	case r.Method == http.MethodPost:
		q.Set("done", "session_ended")
	case c.ended:
		q.Set("done", "session_expired")
	}
	http.Redirect(w, r, "/signin?"+q.Encode(), http.StatusSeeOther)
}

// kept are, by a form's address, the fields of the form that signing in
// again carries back to it (its page at the same address shows them): what
// was typed into a search is worth keeping; a change is made only from a
// page the user sees again.
var kept = map[string][]string{"/search": {"criterion", "value", "as_of", "include_inactive"}}

// returnTo is where to go back after signing in: the page asked for, or
// for a form posted after the session ended, the page the form was on
// (with the form's kept fields, when it has any).
func returnTo(r *http.Request) (next string, keptForm bool) {
	if r.Method == http.MethodGet {
		return localPath(r.URL.RequestURI()), false
	}
	if names, ok := kept[r.URL.Path]; ok && r.ParseForm() == nil {
		q := url.Values{}
		for _, name := range names {
			if v := r.PostForm.Get(name); v != "" {
				q.Set(name, v)
			}
		}
		if len(q) > 0 {
			return r.URL.Path + "?" + q.Encode(), true
		}
	}
	if u, err := url.Parse(r.Referer()); err == nil && u.Host == r.Host {
		return localPath(u.RequestURI()), false
	}
	return "/", false
}

// localPath returns next if it is a path on this site, else "/": it alone
// decides every redirect target that comes from a request (next after
// sign-in and a language switch, the page a form was posted from), so no
// redirect leads elsewhere. A target is refused when it, or any form of it
// that percent-decoding gives, has a scheme or a host, a backslash, or a
// control or format character: browsers strip tabs, newlines and other
// controls from a Location (so "/\t/evil.example" becomes the host
// "evil.example") and read "\" as "/", and what the server checks must be
// what the browser follows.
func localPath(next string) string {
	if !isLocalPath(next) {
		return "/"
	}
	return next
}

// maxDecodings bounds how many times a target is percent-decoded to check
// it; one that still decodes to something new after that is refused.
const maxDecodings = 4

func isLocalPath(next string) bool {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || u.User != nil {
		return false
	}
	s := next
	for range maxDecodings {
		if !plainLocalPath(s) {
			return false
		}
		d := percentDecode(s)
		if d == s {
			return true
		}
		s = d
	}
	return false
}

// plainLocalPath reports whether s, taken literally, is a path on this
// site: one leading "/", and no backslash, control or format character.
func plainLocalPath(s string) bool {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r == '\\' || unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
			return false
		}
	}
	return true
}

// percentDecode decodes each well-formed %XX in s and leaves any other "%"
// as it is (a search for "100%" is a fair target), so that one malformed
// escape cannot hide a well-formed one after it.
func percentDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
