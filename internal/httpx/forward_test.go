package httpx

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// An instance that does not lead passes register writes to the leader,
// which sees the real client through the signed header; reads and searches
// stay where they arrive; a forged header names nobody; and a leader that
// cannot be reached leaves the write to be served where it arrived.
func TestForwarding(t *testing.T) {
	t.Parallel()
	secret := []byte("forwarding-test-secret-0123456789abcdef")
	quiet := slog.New(slog.DiscardHandler)
	// Each side's API answers who served the request and whom it saw.
	answer := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			w.Header().Set("Served-By", name)
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, From(r).Client+" "+string(body))
		})
	}
	var leaderURL string
	leader := httptest.NewServer(New(Options{Logger: quiet, Forwarding: &Forwarding{Secret: secret,
		Leader: func() (string, bool) { return leaderURL, true }}}, answer("leader"), nil))
	defer leader.Close()
	leaderURL = leader.URL
	to := leader.URL
	receiver := httptest.NewServer(New(Options{Logger: quiet, Forwarding: &Forwarding{Secret: secret,
		Leader: func() (string, bool) { return to, false }}}, answer("receiver"), nil))
	defer receiver.Close()

	send := func(base, method, path, forwarded string) (string, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(`{"kind":"chattel_mortgage"}`))
		if forwarded != "" {
			req.Header.Set(ForwardedHeader, forwarded)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Header.Get("Served-By"), string(b)
	}
	for _, tc := range []struct{ method, path, want string }{
		{"POST", "/api/v1/registrations", "leader"},
		{"POST", "/api/v1/registrations/1234/amendments", "leader"},
		{"POST", "/api/v1/objections", "leader"},
		{"GET", "/api/v1/registrations/1234", "receiver"},
		{"POST", "/api/v1/searches", "receiver"},
		{"POST", "/api/v1/tokens", "receiver"},
	} {
		by, body := send(receiver.URL, tc.method, tc.path, "")
		if by != tc.want {
			t.Errorf("%s %s served by %q, want %s", tc.method, tc.path, by, tc.want)
		}
		if !strings.HasPrefix(body, "127.0.0.1 {") {
			t.Errorf("%s %s: the API saw %q, want the client 127.0.0.1 and the body", tc.method, tc.path, body)
		}
	}

	// A large body (a bulk filing) is served where it arrives, whose API
	// checks the caller before reading it, rather than read whole here to
	// be passed on.
	if by, _ := sendBody(t, receiver.URL, "POST", "/api/v1/registrations/batch", "", `{"filings":[`+strings.Repeat(" ", LargeBody)+`]}`); by != "receiver" {
		t.Errorf("a large bulk filing was served by %q, want where it arrived", by)
	}

	// A header not signed with the secret (or too old, or of another
	// request: method, path, query or body) names nobody.
	now := time.Now().Unix()
	f := &Forwarding{Secret: secret}
	const body = `{"kind":"chattel_mortgage"}`
	header := func(at int64, method, target, body string) string {
		r := httptest.NewRequest(method, target, nil)
		return f.forwardedValue(at, "203.0.113.9", r, []byte(body))
	}
	for name, tc := range map[string]struct{ header, path, body string }{
		"forged":        {strconv.FormatInt(now, 10) + ";203.0.113.9;" + strings.Repeat("0", 64) + ";" + strings.Repeat("0", 64), "/api/v1/registrations", body},
		"old":           {header(now-600, "POST", "/api/v1/registrations", body), "/api/v1/registrations", body},
		"another path":  {header(now, "POST", "/api/v1/objections", body), "/api/v1/registrations", body},
		"another verb":  {header(now, "PUT", "/api/v1/registrations", body), "/api/v1/registrations", body},
		"another query": {header(now, "POST", "/api/v1/registrations", body), "/api/v1/registrations?dry_run=true", body},
		"another body":  {header(now, "POST", "/api/v1/registrations", body), "/api/v1/registrations", `{"kind":"retention_of_title"}`},
		"a longer body": {header(now, "POST", "/api/v1/registrations", body), "/api/v1/registrations", body + " "},
		"the old form": {strconv.FormatInt(now, 10) + ";203.0.113.9;" + strings.Split(header(now, "POST", "/api/v1/registrations", body), ";")[3],
			"/api/v1/registrations", body},
	} {
		if _, got := sendBody(t, leader.URL, "POST", tc.path, tc.header, tc.body); !strings.HasPrefix(got, "127.0.0.1 ") {
			t.Errorf("a %s header: the API saw %q, want the peer", name, got)
		}
	}
	if _, got := sendBody(t, leader.URL, "POST", "/api/v1/registrations?dry_run=true", header(now, "POST", "/api/v1/registrations?dry_run=true", body), body); got != "203.0.113.9 "+body {
		t.Errorf("a signed header: the API saw %q, want 203.0.113.9 and the body", got)
	}

	// The leader gone: its address refuses connections.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	to = "http://" + l.Addr().String()
	l.Close()
	if by, _ := send(receiver.URL, "POST", "/api/v1/registrations", ""); by != "receiver" {
		t.Errorf("with the leader unreachable, served by %q", by)
	}
}

// sendBody sends one request with a Registry-Forwarded header and body, and
// returns who served it and what its API saw.
func sendBody(t *testing.T, base, method, path, forwarded, body string) (string, string) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	req.Header.Set(ForwardedHeader, forwarded)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Header.Get("Served-By"), string(b)
}

// A Registry-Forwarded header seen on the wire (as a receiver sent it to the
// leader) vouches for that request only: replayed within its minute with
// another body or another query, it names nobody.
func TestACapturedForwardingHeaderVouchesForItsOwnRequestOnly(t *testing.T) {
	t.Parallel()
	secret := []byte("forwarding-test-secret-0123456789abcdef")
	quiet := slog.New(slog.DiscardHandler)
	var captured string
	var leaderURL string
	leader := httptest.NewServer(New(Options{Logger: quiet, Forwarding: &Forwarding{Secret: secret,
		Leader: func() (string, bool) { return leaderURL, true }}},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if h := r.Header.Get(ForwardedHeader); h != "" && captured == "" {
				captured = h
			}
			_, _ = io.WriteString(w, From(r).Client+" "+string(body))
		}), nil))
	defer leader.Close()
	leaderURL = leader.URL
	// The receiver is behind a proxy it trusts, so the client it forwards
	// for (198.51.100.7) is not the peer the leader sees (127.0.0.1).
	receiver := httptest.NewServer(New(Options{Logger: quiet, TrustedProxies: []string{"127.0.0.1"}, Forwarding: &Forwarding{Secret: secret,
		Leader: func() (string, bool) { return leaderURL, false }}}, http.NotFoundHandler(), nil))
	defer receiver.Close()
	send := func(base, path, forwarded, body string) string {
		t.Helper()
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		if forwarded != "" {
			req.Header.Set(ForwardedHeader, forwarded)
		} else {
			req.Header.Set("X-Forwarded-For", "198.51.100.7")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}

	const body = `{"kind":"chattel_mortgage"}`
	if got := send(receiver.URL, "/api/v1/registrations?x=1", "", body); got != "198.51.100.7 "+body || captured == "" {
		t.Fatalf("the forwarded write: the leader saw %q, header %q", got, captured)
	}
	for name, tc := range map[string]struct{ path, body string }{
		"another body":  {"/api/v1/registrations?x=1", `{"kind":"retention_of_title"}`},
		"no body":       {"/api/v1/registrations?x=1", ""},
		"another query": {"/api/v1/registrations?x=2", body},
		"no query":      {"/api/v1/registrations", body},
	} {
		if got := send(leader.URL, tc.path, captured, tc.body); !strings.HasPrefix(got, "127.0.0.1 ") {
			t.Errorf("the captured header with %s: the leader saw %q, want the peer", name, got)
		}
	}
}
