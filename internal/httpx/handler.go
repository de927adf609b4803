package httpx

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/movable-registry/registry/internal/auth"
)

// BasePath is where version 1 of the API lives.
const BasePath = "/api/v1"

// DefaultMaxBodyBytes bounds a request's body (the API's and the pages'
// forms) where the configuration says nothing (max_body_bytes).
const DefaultMaxBodyBytes int64 = 1 << 20

// DefaultSessionTTL is how long a sign-in on the pages lasts where the
// configuration says nothing (web.session_ttl). It is here, not in web,
// so that the settings table takes it without the pages' dependencies.
const DefaultSessionTTL = 12 * time.Hour

// Options configure the handler in front of the API and the pages.
type Options struct {
	Logger *slog.Logger
	// Registerer receives the HTTP metrics, and Gatherer serves /metrics;
	// nil makes a private registry.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// PerAddress limits how often one client address may call the API or
	// open a page; a zero Rate is no limit.
	PerAddress Limit
	// TrustedProxies are reverse proxies whose X-Forwarded-For names the
	// client (addresses or CIDR ranges); none by default: the client is the
	// peer.
	TrustedProxies []string
	// MetricsToken, when set, is the bearer token /metrics asks for; unset,
	// /metrics is 404 here (registryd serves it on its debug address).
	MetricsToken string
	// Now is the clock of the limits (time.Now when nil).
	Now func() time.Time
	// SharedLimits, when set, keeps the limit per address in the database
	// every instance shares, instead of in this process.
	SharedLimits RateStore
	// Forwarding, when set, passes register writes to the instance whose
	// sequencer leads (forward.go); MaxBodyBytes bounds what it reads.
	Forwarding   *Forwarding
	MaxBodyBytes int64
	// RequestTimeout bounds a request, its database work included (the
	// context ends, and PostgreSQL is told to cancel), and the writing of
	// its answer; ExportTimeout bounds a streamed export (/audit/export)
	// instead. Zero is no bound.
	RequestTimeout time.Duration
	ExportTimeout  time.Duration
	// LargeBodies bounds how many bodies over LargeBody the API and the
	// pages read at once (the number of CPUs when zero).
	LargeBodies int
}

// Request is what the handler learned of a request before the API or the
// pages see it.
type Request struct {
	// ID names the request in logs, answers (X-Request-Id) and the audit
	// trail: the client's own when it is plain, else a new one.
	ID string
	// Client is the client's address: the peer, or the address a trusted
	// proxy names.
	Client string
	// Route is the route that served the request, for the metrics; the API
	// and the pages set it.
	Route string

	limits Limiter
	bodies bodyGate
}

// TakeAddress spends one request of the client address's limit, or says
// how long until one is free. The API takes it once it knows what a refusal
// is audited as; the handler takes it for the pages.
func (r *Request) TakeAddress(ctx context.Context) (wait time.Duration, ok bool) {
	if r == nil || r.limits == nil {
		return 0, true
	}
	return r.limits.Take(ctx, auth.AddressKey(r.Client))
}

type requestKey struct{}

// From returns what the handler learned of the request carrying ctx; a
// request that did not come through the handler (a test calling a handler
// directly) gets its peer as the client.
func From(r *http.Request) *Request {
	if v, ok := r.Context().Value(requestKey{}).(*Request); ok {
		return v
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return &Request{ID: r.Header.Get("X-Request-Id"), Client: host}
}

// New returns the registry's HTTP handler: api serves BasePath, /healthz and
// /readyz; pages serve every other path (404 when nil); the handler itself
// serves /metrics.
func New(opts Options, api, pages http.Handler) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Registerer == nil {
		r := prometheus.NewRegistry()
		opts.Registerer, opts.Gatherer = r, r
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &handler{opts: opts, api: api, pages: pages,
		limits: NewLimiter(opts.PerAddress, opts.Now, opts.SharedLimits, "address:", func(err error) {
			opts.Logger.Error("the shared limit per address could not be read: the request goes through", "error", err)
		}),
		bodies: newBodyGate(opts.LargeBodies)}
	for _, p := range opts.TrustedProxies {
		if pre, err := netip.ParsePrefix(p); err == nil {
			h.trusted = append(h.trusted, pre)
		} else if a, err := netip.ParseAddr(p); err == nil {
			h.trusted = append(h.trusted, netip.PrefixFrom(a, a.BitLen()))
		} else {
			opts.Logger.Error("a trusted proxy that is neither an address nor a range is ignored", "proxy", p)
		}
	}
	h.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "registry_http_request_duration_seconds", Help: "HTTP requests by route and status.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"method", "route", "status"})
	opts.Registerer.MustRegister(h.duration)
	if opts.Forwarding != nil {
		if opts.Forwarding.Transport == nil {
			opts.Forwarding.Transport = forwardingTransport()
		}
		h.opts.Forwarding = opts.Forwarding
		h.forwarded = forwardedCounter()
		opts.Registerer.MustRegister(h.forwarded)
	}
	if opts.Gatherer != nil {
		h.metrics = promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{})
	}
	return h
}

type handler struct {
	opts       Options
	api, pages http.Handler
	metrics    http.Handler
	limits     Limiter
	bodies     bodyGate
	trusted    []netip.Prefix
	duration   *prometheus.HistogramVec
	forwarded  *prometheus.CounterVec
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get("X-Request-Id")
	if !requestIDPattern.MatchString(id) {
		id = uuid.NewString()
	}
	info := &Request{ID: id, Client: h.client(r), limits: h.limits, bodies: h.bodies}
	// A write another instance passed on names its client, signed.
	client, forwarded := h.opts.Forwarding.verify(r, h.opts.Now(), h.bodyLimit(r))
	if forwarded {
		info.Client = client
	}
	ctx := context.WithValue(r.Context(), requestKey{}, info)
	if limit := h.timeout(r); limit > 0 {
		deadline := start.Add(limit)
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
		// A client that does not read its answer is cut off a little after
		// the deadline, and holds nothing of the database meanwhile (the
		// handler's work ended with the deadline).
		_ = http.NewResponseController(w).SetWriteDeadline(deadline.Add(5 * time.Second))
	}
	r = r.WithContext(ctx)
	rec := &recorder{ResponseWriter: w}
	w.Header().Set("X-Request-Id", id)
	secure(rec, r)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.opts.Logger.Error("panic", "panic", v, "path", r.URL.Path, "request_id", id)
			if rec.status == 0 {
				WriteProblem(rec, r, NewProblem(http.StatusInternalServerError, "internal_error", "internal error"))
			}
		}
		h.observe(r, rec, info, time.Since(start))
	}()
	path := r.URL.Path
	switch {
	case path == "/metrics":
		info.Route = "/metrics"
		h.serveMetrics(rec, r)
	case path == BasePath || strings.HasPrefix(path, BasePath+"/") || path == "/healthz" || path == "/readyz":
		if h.opts.Forwarding != nil && !forwarded && forwards(r) && h.forward(rec, r, info) {
			return
		}
		h.api.ServeHTTP(rec, r)
	case h.pages == nil:
		WriteProblem(rec, r, NewProblem(http.StatusNotFound, "not_found", "no such endpoint"))
	default:
		// A refusal here is not audited: a flood of them would be a
		// flood of writes to the trail.
		if wait, ok := info.TakeAddress(r.Context()); !ok {
			rec.Header().Set("Retry-After", RetryAfter(wait))
			rec.Header().Set("Content-Type", "text/plain; charset=utf-8")
			rec.WriteHeader(http.StatusTooManyRequests)
			_, _ = rec.Write([]byte("too many requests; try again later / 请求过于频繁，请稍后再试\n"))
			return
		}
		h.pages.ServeHTTP(rec, r)
	}
}

// timeout is how long the request may take: exports stream for longer.
func (h *handler) timeout(r *http.Request) time.Duration {
	if strings.HasSuffix(r.URL.Path, "/audit/export") {
		return h.opts.ExportTimeout
	}
	return h.opts.RequestTimeout
}

// client is the request's client: the peer, unless the peer is a trusted
// proxy; then the nearest address in X-Forwarded-For that is not one.
func (h *handler) client(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if !h.isTrusted(host) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if _, err := netip.ParseAddr(hop); err != nil {
			break
		}
		if !h.isTrusted(hop) {
			return hop
		}
		host = hop
	}
	return host
}

func (h *handler) isTrusted(addr string) bool {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range h.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// serveMetrics serves the metrics only to a request that sends the
// configured metrics token: route volumes and versions are not for anyone.
func (h *handler) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if h.opts.MetricsToken == "" || h.metrics == nil || r.Method != http.MethodGet {
		WriteProblem(w, r, NewProblem(http.StatusNotFound, "not_found", "no such endpoint"))
		return
	}
	token := ""
	if scheme, rest, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		token = strings.TrimSpace(rest)
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(h.opts.MetricsToken)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
		WriteProblem(w, r, NewProblem(http.StatusUnauthorized, "unauthenticated", "the metrics token is required"))
		return
	}
	h.metrics.ServeHTTP(w, r)
}

func (h *handler) observe(r *http.Request, rec *recorder, info *Request, elapsed time.Duration) {
	route := info.Route
	if route == "" {
		route = "unmatched"
	}
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	h.duration.WithLabelValues(r.Method, route, strconv.Itoa(status)).Observe(elapsed.Seconds())
	h.opts.Logger.Info("request", "method", r.Method, "path", r.URL.Path, "status", status,
		"duration", elapsed, "source", info.Client, "request_id", info.ID)
}

// WriteProblem answers p as problem+json, with its request id and its
// Retry-After.
func WriteProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	p.RequestID = From(r).ID
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", RetryAfter(p.RetryAfter))
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		b.Reset()
		b.WriteString(`{"code":"internal_error"}`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_, _ = w.Write(b.Bytes())
}

// recorder remembers the status an answer was sent with.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Flush and Unwrap let a streamed answer (the audit export) flush and
// extend its write deadline through the recorder.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
