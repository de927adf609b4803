package jobs_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/jobs"
)

// The code between the two marker lines is the receiver docs/integrating.md
// shows a bank ("Verifying webhook signatures"), character for character:
// TestTheDocumentShowsTheTestedReceiver keeps the two the same, and
// TestTheDocumentedReceiver checks it against what the deliveries sign.

// docs/integrating.md: begin
// verifyRegistrySignature checks a delivery's Registry-Signature header
// ("t=<unix seconds>,v1=<hex HMAC-SHA256>") against the raw body and the
// webhook's secret, and that it was signed within tolerance of now.
func verifyRegistrySignature(header string, body []byte, secret string, now time.Time, tolerance time.Duration) error {
	var t string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			t = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	unix, err := strconv.ParseInt(t, 10, 64)
	if err != nil || len(sigs) == 0 {
		return errors.New("the signature header has no t= or no v1=")
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return errors.New("the signature was made too long ago (or ahead of our clock)")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(t + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range sigs {
		if got, err := hex.DecodeString(s); err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("the signature does not match the body and the secret")
}

// notices receives deliveries: it answers 401 to one whose signature does
// not verify, and 204 once handle has taken the notice (which must drop a
// notice whose id it has seen: a delivery is sent again until a 2xx
// arrives, so the same notice may come twice).
func notices(secret string, handle func(notice []byte) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		if err := verifyRegistrySignature(r.Header.Get("Registry-Signature"), body, secret, time.Now(), 5*time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if err := handle(body); err != nil {
			http.Error(w, "not taken; send it again", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// docs/integrating.md: end

func TestTheDocumentShowsTheTestedReceiver(t *testing.T) {
	src, err := os.ReadFile("signature_doc_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, tested, _ := strings.Cut(string(src), "// docs/integrating.md: begin\n")
	tested, _, _ = strings.Cut(tested, "// docs/integrating.md: end\n")
	doc, err := os.ReadFile("../../docs/integrating.md")
	if err != nil {
		t.Fatal(err)
	}
	var shown []string
	for rest := string(doc); ; {
		var block string
		var ok bool
		if _, rest, ok = strings.Cut(rest, "\n```go\n"); !ok {
			break
		}
		block, rest, _ = strings.Cut(rest, "\n```\n")
		shown = append(shown, block+"\n")
	}
	for _, s := range shown {
		if strings.Contains(s, "func verifyRegistrySignature(") {
			if strings.TrimSpace(s) != strings.TrimSpace(tested) {
				t.Errorf("docs/integrating.md shows another receiver than internal/jobs/signature_doc_test.go tests; copy the tested code between its markers into the document.\nshown:\n%s\ntested:\n%s", s, tested)
			}
			return
		}
	}
	t.Errorf("docs/integrating.md shows no go block with func verifyRegistrySignature (found %d go blocks)", len(shown))
}

func TestTheDocumentedReceiver(t *testing.T) {
	const secret = "the webhook's secret, as given to POST /webhooks"
	body := []byte(`{"id":"6b0d4c1e-8a55-4d0e-9a38-2f5b7d1c9e01","kind":"registration_filed","registration_number":"20261126000000000152"}`)
	now := time.Now()
	good := jobs.Sign(secret, now.Unix(), body)

	if err := verifyRegistrySignature(good, body, secret, now, 5*time.Minute); err != nil {
		t.Errorf("a delivery as signed: %v", err)
	}
	if err := verifyRegistrySignature(good, body, secret, now.Add(4*time.Minute), 5*time.Minute); err != nil {
		t.Errorf("four minutes later: %v", err)
	}
	_, mac, _ := strings.Cut(good, ",")
	for name, c := range map[string]struct {
		header, secret string
		body           []byte
		at             time.Time
	}{
		"another body":             {good, secret, []byte(strings.Replace(string(body), "filed", "changed", 1)), now},
		"another secret":           {good, "another secret", body, now},
		"six minutes later":        {good, secret, body, now.Add(6 * time.Minute)},
		"signed ahead of us":       {good, secret, body, now.Add(-6 * time.Minute)},
		"another time, same mac":   {"t=" + strconv.FormatInt(now.Unix()+1, 10) + "," + mac, secret, body, now},
		"no time":                  {mac, secret, body, now},
		"no signature":             {"t=" + strconv.FormatInt(now.Unix(), 10), secret, body, now},
		"no header":                {"", secret, body, now},
		"a signature that is text": {"t=" + strconv.FormatInt(now.Unix(), 10) + ",v1=zz", secret, body, now},
	} {
		if err := verifyRegistrySignature(c.header, c.body, c.secret, c.at, 5*time.Minute); err == nil {
			t.Errorf("%s: verified", name)
		}
	}

	// Through the handler, as the registry posts a delivery.
	var taken [][]byte
	srv := httptest.NewServer(notices(secret, func(n []byte) error { taken = append(taken, n); return nil }))
	defer srv.Close()
	post := func(sig string, b []byte) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(string(b)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Registry-Signature", sig)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := post(jobs.Sign(secret, time.Now().Unix(), body), body); got != http.StatusNoContent {
		t.Errorf("a signed delivery: %d", got)
	}
	if got := post(jobs.Sign("not the secret", time.Now().Unix(), body), body); got != http.StatusUnauthorized {
		t.Errorf("a delivery signed with another secret: %d", got)
	}
	if len(taken) != 1 || string(taken[0]) != string(body) {
		t.Errorf("taken: %q", taken)
	}
}
