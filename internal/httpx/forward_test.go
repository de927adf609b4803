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

	// A header not signed with the secret (or too old) names nobody.
	now := time.Now().Unix()
	f := &Forwarding{Secret: secret}
	for name, header := range map[string]string{
		"forged":  strconv.FormatInt(now, 10) + ";203.0.113.9;" + strings.Repeat("0", 64),
		"old":     strconv.FormatInt(now-600, 10) + ";203.0.113.9;" + f.sign(now-600, "203.0.113.9", "POST", "/api/v1/registrations"),
		"another": strconv.FormatInt(now, 10) + ";203.0.113.9;" + f.sign(now, "203.0.113.9", "POST", "/api/v1/objections"),
	} {
		if _, body := send(leader.URL, "POST", "/api/v1/registrations", header); !strings.HasPrefix(body, "127.0.0.1 ") {
			t.Errorf("a %s header: the API saw %q, want the peer", name, body)
		}
	}
	signed := strconv.FormatInt(now, 10) + ";203.0.113.9;" + f.sign(now, "203.0.113.9", "POST", "/api/v1/registrations")
	if _, body := send(leader.URL, "POST", "/api/v1/registrations", signed); !strings.HasPrefix(body, "203.0.113.9 ") {
		t.Errorf("a signed header: the API saw %q, want 203.0.113.9", body)
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
