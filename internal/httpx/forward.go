package httpx

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Several instances on one database keep one order of the register by
// taking turns at its head, and each instance's batch then holds only the
// writes its own clients sent: the more instances, the smaller the batches
// and the more turns (README, "Filing"). With forwarding, the instance
// whose sequencer leads (one at a time, chosen by a PostgreSQL advisory
// lock) files for all: another instance passes each register write it
// receives to the leader's own address, signed with the secret the
// instances share, and hands the answer back. A write that cannot reach
// the leader (none known, or its address refuses the connection) is filed
// by the instance itself, which is always correct; one that reached it and
// lost its answer is answered 503, to be sent again with its
// Idempotency-Key.

// ForwardedHeader carries a forwarded request's client address, signed.
const ForwardedHeader = "Registry-Forwarded"

// forwardSkew bounds how old a forwarded request's signature may be.
const forwardSkew = 60 * time.Second

// Forwarding configures the passing of register writes to the leader.
type Forwarding struct {
	// Secret is shared by the instances (at least 32 bytes).
	Secret []byte
	// Leader returns the leading instance's address (http://host:port)
	// and whether it is this instance; "" when none is known.
	Leader func() (url string, self bool)
	// Transport sends the forwarded requests (a keep-alive pool by
	// default).
	Transport http.RoundTripper
}

// forwards reports whether a request is a write to the register that the
// leader should file: the API's writes under /registrations and
// /objections (not searches, which read in parallel on every instance).
func forwards(r *http.Request) bool {
	if r.Method != http.MethodPost && r.Method != http.MethodPatch && r.Method != http.MethodPut && r.Method != http.MethodDelete {
		return false
	}
	p := r.URL.Path
	return strings.HasPrefix(p, BasePath+"/registrations") || strings.HasPrefix(p, BasePath+"/objections")
}

// sign is the forwarding signature of a request: its time, the client it
// names, its method, path, raw query and the SHA-256 of its body, so that a
// header seen once is worth nothing for another request (another body, query
// or address) in the minute it is fresh.
func (f *Forwarding) sign(at int64, client, method, path, rawQuery, bodySHA string) string {
	m := hmac.New(sha256.New, f.Secret)
	for _, field := range []string{"registry forward v2", strconv.FormatInt(at, 10), client, method, path, rawQuery, bodySHA} {
		m.Write([]byte(field))
		m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil))
}

// forwardedValue is the header a forwarded request carries.
func (f *Forwarding) forwardedValue(at int64, client string, r *http.Request, body []byte) string {
	sum := sha256.Sum256(body)
	bodySHA := hex.EncodeToString(sum[:])
	return strconv.FormatInt(at, 10) + ";" + client + ";" + bodySHA + ";" + f.sign(at, client, r.Method, r.URL.Path, r.URL.RawQuery, bodySHA)
}

// verify returns the client a forwarded request names, if its signature is
// the shared secret's, recent, and of this very request: method, path,
// query and body. The body is read (at most limit bytes) only once the
// signature holds, and put back for the API.
func (f *Forwarding) verify(r *http.Request, now time.Time, limit int64) (string, bool) {
	v := r.Header.Get(ForwardedHeader)
	if f == nil || v == "" {
		return "", false
	}
	parts := strings.Split(v, ";")
	if len(parts) != 4 {
		return "", false
	}
	at, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || now.Sub(time.Unix(at, 0)).Abs() > forwardSkew {
		return "", false
	}
	if _, err := netip.ParseAddr(parts[1]); err != nil {
		return "", false
	}
	want := f.sign(at, parts[1], r.Method, r.URL.Path, r.URL.RawQuery, parts[2])
	if !hmac.Equal([]byte(want), []byte(parts[3])) {
		return "", false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil || int64(len(body)) > limit {
		// Too long to be what an instance forwards (it forwards only what
		// fits): the API reads the rest and answers 413.
		r.Body = readCloser{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
		return "", false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.Sum256(body)
	if !hmac.Equal([]byte(hex.EncodeToString(sum[:])), []byte(parts[2])) {
		return "", false
	}
	return parts[1], true
}

// readCloser reads from one reader and closes another.
type readCloser struct {
	io.Reader
	io.Closer
}

// bodyLimit is the most the API reads of a request's body.
func (h *handler) bodyLimit(r *http.Request) int64 {
	limit := h.opts.MaxBodyBytes
	if limit <= 0 {
		limit = 1 << 20
	}
	return BodyLimit(r.URL.Path, limit)
}

// forward passes r to the leader (net/http/httputil's reverse proxy) and
// copies its answer to w. It returns false, having written nothing, when
// the request should be served here.
func (h *handler) forward(w http.ResponseWriter, r *http.Request, info *Request) bool {
	f := h.opts.Forwarding
	leader, self := f.Leader()
	if leader == "" || self {
		return false
	}
	target, err := url.Parse(leader)
	if err != nil {
		return false
	}
	if large(r) {
		// A large body (a bulk filing) is served where it arrives: here the
		// API checks who asks before a byte of it is read, and reads it
		// only as one of the few large bodies at once. Forwarding it would
		// mean reading all of it first, for anyone.
		return false
	}
	// The body is read here, within the API's limit, so that a request
	// that cannot reach the leader can still be served here.
	limit := h.bodyLimit(r) // as the API allows
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil || int64(len(body)) > limit {
		return false // the API answers 413
	}
	// The leader's answer carries its own headers (the same request id).
	saved := w.Header().Clone()
	clear(w.Header())
	served := true
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Body = io.NopCloser(bytes.NewReader(body))
			pr.Out.Header.Set("X-Request-Id", info.ID)
			at := h.opts.Now().Unix()
			pr.Out.Header.Set(ForwardedHeader, f.forwardedValue(at, info.Client, r, body))
		},
		Transport: f.Transport,
		ModifyResponse: func(*http.Response) error {
			h.forwarded.WithLabelValues("leader").Inc()
			info.Route = "forwarded"
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			maps.Copy(w.Header(), saved)
			var op *net.OpError
			if errors.As(err, &op) && op.Op == "dial" {
				h.forwarded.WithLabelValues("here").Inc()
				served = false // nothing reached the leader
				return
			}
			h.forwarded.WithLabelValues("lost").Inc()
			w.Header().Set("Retry-After", "1")
			WriteProblem(w, r, NewProblem(http.StatusServiceUnavailable, "unavailable",
				"the write was passed to the instance that files it and its answer was lost; send it again with the same Idempotency-Key to learn whether it was recorded"))
		},
	}
	proxy.ServeHTTP(w, r)
	return served
}

// forwardedCounter counts register writes by where they were filed.
func forwardedCounter() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "registry_forwarded_writes_total",
		Help: "Register writes this instance received and did not lead for, by where they were filed: by the leader, here (it could not be reached), or lost (its answer did not come back).",
	}, []string{"outcome"})
}

// forwardingTransport keeps connections to the leader alive.
func forwardingTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 256, 256
	t.DialContext = (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return t
}
