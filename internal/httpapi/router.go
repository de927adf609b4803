// Package httpapi is the registry's HTTP API (docs/api.md): the route table,
// a file of handlers per feature, strict request decoding, the OpenAPI
// document (openapi.yaml) and the middleware of the API alone (the limit per
// token, draining). It is the only package that imports gin. The table that
// turns the domain's errors into statuses and problem codes is httpx's
// (ProblemFor), shared with the web pages.
package httpapi

import (
	"bytes"
	"crypto/sha256"
	_ "embed" // the OpenAPI document
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/certpdf"
	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/registry"
)

// Options configure the API. What it shares with the pages (request ids,
// client addresses, the limit per address, headers, metrics) is httpx's,
// in front of it.
type Options struct {
	// MaxBodyBytes limits request bodies (httpx.DefaultMaxBodyBytes
	// unless set).
	MaxBodyBytes int64
	// MaxListBytes bounds a list's answer (default 4 MiB): it ends before
	// the item that would pass it, with next_cursor there.
	MaxListBytes int
	Logger       *slog.Logger
	// PerToken limits how often one bearer token may call the API; a zero
	// Rate is no limit.
	PerToken httpx.Limit
	// Now is the clock of the rate limits (time.Now when nil).
	Now func() time.Time
	// SharedLimits, when set, keeps the limit per token in the database
	// every instance shares, instead of in this process.
	SharedLimits httpx.RateStore
	// Draining, once set, makes /readyz answer 503 while the instance
	// still serves: the load balancer moves away before it stops.
	Draining *atomic.Bool
	// Certificates makes the PDF certificates (unsigned, with
	// certpdf.DefaultFonts, when nil); PublicURL is the registry's address their QR codes
	// verify at (the request's own when empty).
	Certificates *certpdf.Maker
	PublicURL    string
	// Refusals records refused requests in the audit trail; when nil, an
	// entry is written at once or not at all (httpx.RefusalsNow). Its
	// owner, not the router, closes it.
	Refusals *httpx.Refusals
}

type api struct {
	svc  *registry.Service
	opts Options
	log  *slog.Logger

	perToken httpx.Limiter
	tally    *httpx.Tally
}

// access says who may call a route before the service applies its own rules.
type access int

const (
	bearer   access = iota // a valid token is required
	optional               // a token is used if one is sent
	public                 // no token is looked at
)

type route struct {
	method, path string
	action       auth.Action
	access       access
	handle       func(a *api, c *gin.Context, caller registry.Caller) error
}

// routes is the API's table: every endpoint with the action it is audited as.
var routes = []route{
	{"POST", "/signup", auth.SignUp, public, (*api).signUp},
	{"POST", "/organizations", auth.CreateOrganization, bearer, (*api).createOrganization},
	{"GET", "/organizations", auth.ListOrganizations, bearer, (*api).organizations},
	{"POST", "/organizations/:id/approval", auth.ApproveOrganization, bearer, (*api).approveOrganization},
	{"POST", "/organizations/:id/suspension", auth.SuspendOrganization, bearer, (*api).suspendOrganization},
	{"POST", "/organizations/:id/rejection", auth.RejectOrganization, bearer, (*api).rejectOrganization},
	{"POST", "/organizations/:id/succession", auth.StartSuccession, bearer, (*api).startSuccession},
	{"GET", "/successions/:id", auth.ReadSuccession, bearer, (*api).succession},
	{"POST", "/users", auth.CreateUser, bearer, (*api).createUser},
	{"GET", "/users", auth.ListUsers, bearer, (*api).users},
	{"PATCH", "/users/:id", auth.UpdateUser, bearer, (*api).updateUser},
	{"POST", "/users/:id/suspension", auth.SuspendUser, bearer, (*api).suspendUser},
	{"POST", "/users/:id/reinstatement", auth.ReinstateUser, bearer, (*api).reinstateUser},
	{"POST", "/tokens", auth.IssueToken, optional, (*api).createToken},
	{"POST", "/password", auth.ChangePassword, public, (*api).changePassword},
	{"GET", "/tokens", auth.ListTokens, bearer, (*api).tokens},
	{"DELETE", "/tokens/:id", auth.RevokeToken, bearer, (*api).revokeToken},
	{"GET", "/me", auth.ReadMe, bearer, (*api).me},
	{"POST", "/registrations", auth.FileRegistration, bearer, (*api).file},
	{"POST", "/registrations/batch", auth.FileRegistration, bearer, (*api).fileBatch},
	{"POST", "/registrations/changes", auth.ChangeRegistrations, bearer, (*api).changeBatch},
	{"GET", "/registrations", auth.ListRegistrations, bearer, (*api).list},
	{"GET", "/registrations/:number", auth.ReadRegistration, bearer, (*api).registration},
	{"GET", "/registrations/:number/certificate.pdf", auth.ReadRegistration, bearer, (*api).registrationPDF},
	{"POST", "/registrations/:number/amendments", auth.AmendRegistration, bearer, (*api).amend},
	{"POST", "/registrations/:number/extensions", auth.ExtendRegistration, bearer, (*api).extend},
	{"POST", "/registrations/:number/cancellation", auth.CancelRegistration, bearer, (*api).cancel},
	{"POST", "/registrations/:number/modification-code", auth.RotateModificationCode, bearer, (*api).rotateCode},
	{"POST", "/registrations/:number/objections", auth.FileObjection, bearer, (*api).fileObjection},
	{"POST", "/registrations/:number/objections/:objection/withdrawal", auth.WithdrawObjection, bearer, (*api).withdrawObjection},
	{"POST", "/registrations/:number/objections/:objection/case-notice", auth.SubmitCaseNotice, bearer, (*api).caseNotice},
	{"POST", "/registrations/:number/revocation", auth.Revoke, bearer, (*api).revoke},
	{"GET", "/notifications", auth.ReadNotices, bearer, (*api).notices},
	{"POST", "/notifications/:id/read", auth.MarkNoticeRead, bearer, (*api).markNoticeRead},
	{"POST", "/watches", auth.CreateWatch, bearer, (*api).createWatch},
	{"GET", "/watches", auth.ListWatches, bearer, (*api).watches},
	{"DELETE", "/watches/:id", auth.DeleteWatch, bearer, (*api).deleteWatch},
	{"POST", "/webhooks", auth.CreateWebhook, bearer, (*api).createWebhook},
	{"GET", "/webhooks", auth.ListWebhooks, bearer, (*api).webhooks},
	{"DELETE", "/webhooks/:id", auth.DeleteWebhook, bearer, (*api).deleteWebhook},
	{"GET", "/webhooks/:id/deliveries", auth.ListWebhooks, bearer, (*api).deliveries},
	{"POST", "/drafts", auth.CreateDraft, bearer, (*api).createDraft},
	{"GET", "/drafts", auth.ListDrafts, bearer, (*api).drafts},
	{"GET", "/drafts/:id", auth.ReadDraft, bearer, (*api).draft},
	{"PUT", "/drafts/:id", auth.UpdateDraft, bearer, (*api).updateDraft},
	{"DELETE", "/drafts/:id", auth.DeleteDraft, bearer, (*api).deleteDraft},
	{"POST", "/drafts/:id/filing", auth.FileDraft, bearer, (*api).fileDraft},
	{"POST", "/attachments", auth.Attach, bearer, (*api).attach},
	{"GET", "/attachments/:id", auth.ReadAttachment, bearer, (*api).attachment},
	{"POST", "/parties", auth.SaveParty, bearer, (*api).saveParty},
	{"GET", "/parties", auth.ListParties, bearer, (*api).savedParties},
	{"DELETE", "/parties/:id", auth.DeleteParty, bearer, (*api).deleteSavedParty},
	{"POST", "/searches", auth.Search, bearer, (*api).search},
	{"GET", "/searches", auth.ListSearches, bearer, (*api).searchHistory},
	{"GET", "/searches/:number", auth.ReadSearch, bearer, (*api).storedSearch},
	{"GET", "/searches/:number/results", auth.ReadSearch, bearer, (*api).searchResults},
	{"GET", "/searches/:number/certificate.pdf", auth.ReadSearch, bearer, (*api).searchPDF},
	{"GET", "/certificates/:number", auth.ReadCertificate, public, (*api).certificate},
	{"GET", "/statistics", auth.ReadStatistics, optional, (*api).statistics},
	{"GET", "/audit", auth.ReadAudit, bearer, (*api).audit},
	{"GET", "/audit/export", auth.ExportAudit, bearer, (*api).exportAudit},
	{"GET", "/log/checkpoint", auth.ReadCheckpoint, public, (*api).checkpoint},
	{"GET", "/log/tile/entries/*path", auth.ReadLogEntries, bearer, (*api).logBundle},
	{"GET", "/log/tile/:level/*path", auth.ReadLogTiles, public, (*api).logTile},
	{"GET", "/log/key", auth.ReadLogKey, public, (*api).logKey},
	{"GET", "/log/entries", auth.ReadLogEntries, bearer, (*api).logEntries},
	{"GET", "/log/events/:number", auth.ReadLogEvent, bearer, (*api).logEvent},
	{"GET", "/log/columns", auth.ReadLogEntries, bearer, (*api).logColumns},
	{"GET", "/log/state", auth.ReadLogEntries, bearer, (*api).logState},
	{"GET", "/log/proof/inclusion", auth.ReadLogProof, bearer, (*api).inclusionProof},
	{"GET", "/log/proof/consistency", auth.ReadLogProof, bearer, (*api).consistencyProof},
}

// OpenAPI is the API's OpenAPI 3.1 document, checked against the route table
// by the tests.
//
//go:embed openapi.yaml
var OpenAPI []byte

// BasePath is where version 1 of the API lives.
const BasePath = httpx.BasePath

// NewRouter returns the API's handler: BasePath, /healthz and /readyz. It
// stands behind httpx.New, which gives each request its id and its client's
// address.
func NewRouter(svc *registry.Service, opts Options) http.Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = httpx.DefaultMaxBodyBytes
	}
	if opts.MaxListBytes <= 0 {
		opts.MaxListBytes = MaxListBytes
	}
	if opts.Certificates == nil {
		opts.Certificates = certpdf.New(certpdf.Options{})
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Refusals == nil {
		opts.Refusals = httpx.RefusalsNow(svc, opts.Logger)
	}
	a := &api{svc: svc, opts: opts, log: opts.Logger,
		perToken: httpx.NewLimiter(opts.PerToken, opts.Now, opts.SharedLimits, "token:", func(err error) {
			opts.Logger.Error("the shared limit per token could not be read: the request goes through", "error", err)
		}),
		tally: httpx.NewTally(opts.Refusals, opts.Logger, opts.Now)}

	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.HandleMethodNotAllowed = true
	// The client's address is httpx's; gin is asked for none.
	_ = e.SetTrustedProxies(nil)
	e.Use(func(c *gin.Context) {
		c.Next()
		if route := c.FullPath(); route != "" {
			httpx.From(c.Request).Route = route
		}
	})
	e.NoRoute(func(c *gin.Context) {
		a.writeProblem(c, httpx.NewProblem(http.StatusNotFound, "not_found", "no such endpoint"))
	})
	e.NoMethod(func(c *gin.Context) {
		a.writeProblem(c, httpx.NewProblem(http.StatusMethodNotAllowed, "method_not_allowed", "this endpoint does not take "+c.Request.Method))
	})

	e.GET("/healthz", func(c *gin.Context) { a.render(c, http.StatusOK, gin.H{"status": "ok"}) })
	e.GET("/readyz", a.ready)

	v1 := e.Group(BasePath)
	v1.GET("/openapi.yaml", func(c *gin.Context) { c.Data(http.StatusOK, "application/yaml", OpenAPI) })
	for _, rt := range routes {
		v1.Handle(rt.method, rt.path, a.wrap(rt))
	}
	return e
}

// wrap runs a route: limits the body, authenticates, checks the route's
// action against the caller's roles, admits a large body (httpx.AdmitBody),
// calls the handler, and turns its error into a problem that is also
// recorded in the audit trail. Everything before the handler is decided
// without reading the body.
func (a *api) wrap(rt route) gin.HandlerFunc {
	return func(c *gin.Context) {
		req := httpx.From(c.Request)
		caller := registry.Caller{Source: req.Client, RequestID: req.ID}
		if wait, ok := req.TakeAddress(c.Request.Context()); !ok {
			a.fail(c, rt, caller, httpx.RateLimited(wait, "from this address"))
			return
		}
		limit := httpx.BodyLimit(rt.path, a.opts.MaxBodyBytes)
		if c.Request.ContentLength > limit {
			a.fail(c, rt, caller, httpx.NewProblem(http.StatusRequestEntityTooLarge, "payload_too_large",
				"the body is larger than "+strconv.FormatInt(limit, 10)+" bytes"))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
		if rt.access != public {
			token, sent := bearerToken(c.GetHeader("Authorization"))
			if sent || rt.access == bearer {
				p, err := a.svc.Authenticate(c.Request.Context(), token)
				if err != nil {
					a.fail(c, rt, caller, err)
					return
				}
				caller.Principal = p
				if wait, ok := a.perToken.Take(c.Request.Context(), p.TokenID); !ok {
					a.fail(c, rt, caller, httpx.RateLimited(wait, "with this token"))
					return
				}
			}
		}
		// Whether the caller may take the route's action at all is known
		// before a byte of the body is read: a caller without the role is
		// refused at once, not after its 32 MiB have been decoded. The
		// service checks again, with what it alone knows (whose object).
		if rt.access == bearer && !caller.Can(rt.action) {
			a.fail(c, rt, caller, registry.Forbidden(caller.Principal, rt.action))
			return
		}
		release, err := httpx.From(c.Request).AdmitBody(c.Request)
		if err != nil {
			a.fail(c, rt, caller, err)
			return
		}
		defer release()
		if err := a.idempotency(c, &caller); err != nil {
			a.fail(c, rt, caller, err)
			return
		}
		if err := rt.handle(a, c, caller); err != nil {
			a.fail(c, rt, caller, err)
			return
		}
		if k := caller.Idempotency; k != nil && k.Replayed {
			// The first request's entry names the change; this one records
			// that the answer was given again.
			if err := a.svc.Record(c.Request.Context(), caller, action(c, rt), target(c), audit.Success, "replayed the answer to an earlier request with the same Idempotency-Key"); err != nil {
				a.log.Error("audit entry not written", "error", err, "request_id", caller.RequestID)
			}
		}
	}
}

// idempotencyKeyPattern is what an Idempotency-Key may hold: visible ASCII,
// enough for a UUID or a client's own scheme.
var idempotencyKeyPattern = regexp.MustCompile(`^[\x21-\x7e]{1,255}$`)

// idempotency reads a creating request's Idempotency-Key and fingerprints
// the request it came with (method, path, modification code, body), so the
// service can answer a retry with the first answer and refuse the key's
// reuse for another request. Requests without a principal have no key scope.
func (a *api) idempotency(c *gin.Context, caller *registry.Caller) error {
	key := c.GetHeader("Idempotency-Key")
	if key == "" || c.Request.Method != http.MethodPost || (caller.UserID == "" && !caller.Bootstrap) {
		return nil
	}
	if !idempotencyKeyPattern.MatchString(key) {
		return registry.Invalid("Idempotency-Key", registry.CodeInvalidField, "must be 1 to 255 visible ASCII characters, such as a UUID")
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return decodeError(err)
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(body))
	h := sha256.New()
	for _, part := range []string{c.Request.Method, c.Request.URL.Path, c.GetHeader("Modification-Code")} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	h.Write(body)
	caller.Idempotency = &registry.Idempotency{Key: key, Fingerprint: h.Sum(nil)}
	c.Set(idempotencyContextKey, caller.Idempotency)
	return nil
}

const idempotencyContextKey = "idempotency"

// auditTargetKey and auditActionKey hold what a handler found in the body:
// the target, and the action when one route serves two.
const (
	auditTargetKey = "audit_target"
	auditActionKey = "audit_action"
)

// action is what a request is audited as.
func action(c *gin.Context, rt route) auth.Action {
	if a, ok := c.Get(auditActionKey); ok {
		return a.(auth.Action)
	}
	return rt.action
}

// target is what a request acts on, as its audit entry names it.
func target(c *gin.Context) string {
	if t := c.GetString(auditTargetKey); t != "" {
		return t
	}
	if n := c.Param("number"); n != "" {
		return n
	}
	return c.Param("id")
}

func bearerToken(h string) (token string, sent bool) {
	if h == "" {
		return "", false
	}
	scheme, rest, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(rest), true
}

func (a *api) fail(c *gin.Context, rt route, caller registry.Caller, err error) {
	p := httpx.ProblemFor(err)
	if p.Status >= 500 {
		a.log.Error("request failed", "error", err, "method", c.Request.Method, "path", c.Request.URL.Path, "request_id", caller.RequestID)
	}
	if p.Status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="registry"`)
	}
	var limited *httpx.LimitRefusal
	if errors.As(err, &limited) {
		a.tally.Refused(c.Request.Context(), caller, action(c, rt), target(c), p)
		a.writeProblem(c, p)
		return
	}
	if aerr := a.opts.Refusals.Record(c.Request.Context(), caller, action(c, rt), target(c), p, ""); aerr != nil {
		a.log.Error("audit entry not written", "error", aerr, "request_id", caller.RequestID)
	}
	a.writeProblem(c, p)
}

func (a *api) writeProblem(c *gin.Context, p *httpx.Problem) {
	markReplay(c)
	httpx.WriteProblem(c.Writer, c.Request, p)
}

// ok answers 200 with the value of a service call, or passes on its error:
// a.ok(c)(a.svc.Something(...)).
func (a *api) ok(c *gin.Context) func(any, error) error {
	return func(v any, err error) error {
		if err != nil {
			return err
		}
		if l, isList := v.(registry.List); isList {
			a.writeList(c, l)
			return nil
		}
		a.render(c, http.StatusOK, v)
		return nil
	}
}

func (a *api) render(c *gin.Context, status int, v any) {
	a.write(c, status, "application/json; charset=utf-8", v)
}

func (a *api) write(c *gin.Context, status int, contentType string, v any) {
	markReplay(c)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		a.log.Error("encode response", "error", err)
		status, b = http.StatusInternalServerError, *bytes.NewBufferString(`{"code":"internal_error"}`)
	}
	c.Data(status, contentType, b.Bytes())
}

// markReplay tells the client that an answer is the stored answer to an
// earlier request with the same Idempotency-Key.
func markReplay(c *gin.Context) {
	if v, ok := c.Get(idempotencyContextKey); ok {
		if k, _ := v.(*registry.Idempotency); k != nil && k.Replayed {
			c.Header("Idempotent-Replayed", "true")
		}
	}
}
