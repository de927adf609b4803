package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/httpapi"
	"github.com/movable-registry/registry/internal/registry"
)

// countingBody is a request body of size bytes (spaces, then what ends a
// JSON value) that counts what the server read of it.
type countingBody struct {
	size, read int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	if b.read >= b.size {
		return 0, io.EOF
	}
	n := min(int64(len(p)), b.size-b.read)
	for i := range n {
		p[i] = ' '
	}
	b.read += n
	return int(n), nil
}

// TestBodiesReadOnlyByThoseWhoMay: a caller whose roles do not allow a
// route's action is refused 403 before its body is read, whatever the
// route: a searcher's 32 MiB bulk filing is not decoded to find out that
// searchers do not file.
func TestBodiesReadOnlyByThoseWhoMay(t *testing.T) {
	e := newEnv(t)
	searcher := e.newAccount(usccs[0], "searcher")
	registrant := e.newAccount(usccs[1], "registrant")
	for _, tc := range []struct {
		name, path, token, contentType string
		size                           int64
	}{
		{"a searcher's bulk filing", "/registrations/batch", searcher.Token, "application/json", 32 << 20},
		{"a searcher's filing", "/registrations", searcher.Token, "application/json", 1 << 20},
		{"a searcher's attachment", "/attachments", searcher.Token, "multipart/form-data; boundary=x", 10 << 20},
		{"a registrant's search", "/searches", registrant.Token, "application/json", 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := &countingBody{size: tc.size}
			req := httptest.NewRequest("POST", httpapi.BasePath+tc.path, body)
			req.ContentLength = tc.size
			req.Header.Set("Content-Type", tc.contentType)
			req.Header.Set("Authorization", "Bearer "+tc.token)
			w := httptest.NewRecorder()
			start := time.Now()
			e.h.ServeHTTP(w, req)
			if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), `"forbidden"`) {
				t.Fatalf("%d %s, want 403 forbidden", w.Code, w.Body)
			}
			if body.read > 0 {
				t.Errorf("%d bytes of the body were read before the refusal", body.read)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("refused after %v", d)
			}
		})
	}
}

// TestLargeBodiesReadFewAtOnce: past large_bodies.concurrent large bodies
// being read, the next is refused 503 unavailable with a Retry-After,
// without a byte of it read; a small body still goes through, and once a
// large body is done its place is free again.
func TestLargeBodiesReadFewAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, func(*registry.Config) {}, func(s *stack) { s.HTTP.LargeBodies = 1 })
	bank := e.newAccount(usccs[0], "registrant")

	// The first large body comes slowly: the server holds its place while
	// it waits for the rest.
	pr, pw := io.Pipe()
	first := httptest.NewRequest("POST", httpapi.BasePath+"/registrations/batch", pr)
	first.ContentLength = 2 << 20
	first.Header.Set("Content-Type", "application/json")
	first.Header.Set("Authorization", "Bearer "+bank.Token)
	done := make(chan *httptest.ResponseRecorder)
	go func() {
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, first)
		done <- w
	}()
	if _, err := pw.Write([]byte(`{"filings": [`)); err != nil { // returns once the server reads
		t.Fatal(err)
	}

	body := &countingBody{size: 2 << 20}
	req := httptest.NewRequest("POST", httpapi.BasePath+"/registrations/batch", body)
	req.ContentLength = body.size
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+bank.Token)
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"unavailable"`) || w.Header().Get("Retry-After") == "" {
		t.Errorf("a second large body: %d %q %s, want 503 unavailable with Retry-After", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	if body.read > 0 {
		t.Errorf("%d bytes of the refused body were read", body.read)
	}
	// A small body needs no place.
	e.must(http.StatusCreated, e.do("POST", "/registrations", bank.Token, filing(grantorName, usccs[1])))

	_, _ = pw.Write([]byte(`]}`))
	pw.Close()
	select {
	case w := <-done:
		if w.Code != http.StatusUnprocessableEntity {
			t.Errorf("the first: %d %s, want 422 (no filings)", w.Code, w.Body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the first large body got no answer")
	}
	// Its place is free again.
	filings := []any{filing(grantorName, usccs[1])}
	j, _ := json.Marshal(map[string]any{"filings": filings})
	padded := append(j[:len(j)-1:len(j)-1], append(bytes.Repeat([]byte(" "), 2<<20), '}')...)
	e.must(http.StatusOK, e.do("POST", "/registrations/batch", bank.Token, padded))
}

// TestBatchAnswersInTime: a bulk filing that cannot be done within
// request_timeout (here, the events table is locked) is answered in time
// all the same: each filing not reached, or cut short, has 503 in its
// place, and none of them is filed.
func TestBatchAnswersInTime(t *testing.T) {
	const timeout = 2 * time.Second
	e := newEnvWith(t, func(*registry.Config) {}, func(s *stack) { s.HTTP.RequestTimeout = timeout })
	bank := e.newAccount(usccs[0], "registrant")
	events := e.count("SELECT count(*) FROM events")

	tx, err := e.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.Exec("LOCK TABLE events IN EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	var filings []any
	for i := range 200 {
		f := filing(grantorName, usccs[1])
		f["reference"] = fmt.Sprintf("LN-%04d", i)
		filings = append(filings, f)
	}
	r := e.do("POST", "/registrations/batch", bank.Token, map[string]any{"filings": filings})
	took := r.Took
	_ = tx.Rollback()
	t.Logf("answered after %v", took)
	if took > timeout {
		t.Errorf("answered after %v, past request_timeout %v", took, timeout)
	}
	results := list(e.must(http.StatusOK, r)["results"])
	if len(results) != len(filings) {
		t.Fatalf("%d results for %d filings", len(results), len(filings))
	}
	for i, res := range results {
		res := res.(map[string]any)
		p, _ := res["problem"].(map[string]any)
		if int(res["index"].(float64)) != i || res["status"].(float64) != 503 || p["code"] != "unavailable" {
			t.Fatalf("filing %d: %v", i, res)
		}
	}
	if n := e.count("SELECT count(*) FROM events"); n != events {
		t.Errorf("%d filed", n-events)
	}
}

// TestBatchBodyReadStrictly: the bulk body, read a filing at a time, is as
// strict as any other: what is wrong is named by its place in the body.
func TestBatchBodyReadStrictly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant")
	good, _ := json.Marshal(filing(grantorName, usccs[1]))
	for _, tc := range []struct {
		name, body string
		status     int
		field      string
	}{
		{"an unknown field in a filing", `{"filings": [` + string(good) + `, ` + strings.Replace(string(good), `{`, `{"colour": 1, `, 1) + `]}`, 400, "filings[1].colour"},
		{"a field given twice in a filing", `{"filings": [` + strings.Replace(string(good), `{`, `{"kind": "lease", `, 1) + `]}`, 400, "filings[0].kind"},
		{"a wrong type in a filing", `{"filings": [` + strings.Replace(string(good), `{`, `{"reference": 7, `, 1) + `]}`, 400, "filings[0].reference"},
		{"filings in another letter case", `{"Filings": [` + string(good) + `]}`, 400, "Filings"},
		{"an unknown top-level field", `{"filings": [` + string(good) + `], "x": 1}`, 400, "x"},
		{"filings given twice", `{"filings": [], "filings": [` + string(good) + `]}`, 400, "filings"},
		{"filings not an array", `{"filings": {}}`, 400, "filings"},
		{"trailing data", `{"filings": [` + string(good) + `]} {}`, 400, ""},
		{"cut short", `{"filings": [` + string(good), 400, ""},
		{"not UTF-8", `{"filings": [` + strings.Replace(string(good), `{`, "{\"reference\": \"\xff\", ", 1) + `]}`, 422, "filings[0].reference"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/registrations/batch", bank.Token, tc.body)
			p := r.JSON(t)
			if r.Status != tc.status {
				t.Fatalf("%d %s, want %d", r.Status, r.Body, tc.status)
			}
			if tc.field != "" {
				errs := list(p["errors"])
				if len(errs) == 0 || errs[0].(map[string]any)["field"] != tc.field {
					t.Errorf("%s, want the field %s named", r.Body, tc.field)
				}
			}
		})
	}
	if n := e.count("SELECT count(*) FROM events"); n != 0 {
		t.Errorf("%d filed", n)
	}
}

// A JSON endpoint sent a body of another declared media type refuses it
// with 415 unsupported_media_type and files nothing: reading text/plain or a
// form as JSON would be a guess at what the client meant.
func TestABodyOfAnotherMediaTypeIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant")
	body, _ := json.Marshal(filing(grantorName, usccs[1]))
	for _, tc := range []struct {
		name, contentType string
		status            int
	}{
		{"text/plain", "text/plain", 415},
		{"a form", "application/x-www-form-urlencoded", 415},
		{"multipart", "multipart/form-data; boundary=x", 415},
		{"an unreadable media type", "json", 415},
		{"application/json with a charset", "application/json; charset=utf-8", 201},
		{"a +json media type", "application/merge-patch+json", 201},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.count(`SELECT count(*) FROM registrations`)
			r := e.do("POST", "/registrations", bank.Token, string(body), "Content-Type", tc.contentType)
			if tc.status != 415 {
				e.must(tc.status, r)
				return
			}
			e.problem(r, 415, "unsupported_media_type")
			if n := e.count(`SELECT count(*) FROM registrations`); n != before {
				t.Errorf("%d registrations after a refused body, want %d", n, before)
			}
		})
	}
}
