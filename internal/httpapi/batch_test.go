package httpapi_test

import (
	"bytes"
	"fmt"
	"regexp"
	"testing"
)

// TestBulkFiling: 1,000 filings in one request, 10 of them bad: 990 are
// filed, each with its own number (answered as a summary, the answer under
// 1 MB), and the 10 are refused naming their fields, exactly as alone. The same request again with its Idempotency-Key
// gets the same answer, byte for byte, and files nothing more.
func TestBulkFiling(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("files 1,000")
	}
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant")
	var filings []any
	bad := map[int]bool{}
	for i := range 1000 {
		f := filing(grantorName, usccs[1])
		f["reference"] = fmt.Sprintf("LN-%04d", i)
		if i%100 == 7 {
			bad[i] = true
			f["grantors"] = []any{map[string]any{"type": "organization", "name": grantorName, "uscc": "91310115MA1K3YJ12X", "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"}}
		}
		filings = append(filings, f)
	}
	body := map[string]any{"filings": filings}
	events := e.count("SELECT count(*) FROM events")
	first := e.do("POST", "/registrations/batch", bank.Token, body, "Idempotency-Key", "bulk-2026-12-02")
	answer := e.must(200, first)
	results := list(answer["results"])
	if len(results) != 1000 {
		t.Fatalf("%d results", len(results))
	}
	numbers := map[string]bool{}
	for i, r := range results {
		r := r.(map[string]any)
		if int(r["index"].(float64)) != i {
			t.Fatalf("result %d has index %v", i, r["index"])
		}
		if bad[i] {
			p := r["problem"].(map[string]any)
			field := list(p["errors"])[0].(map[string]any)["field"]
			if r["status"].(float64) != 422 || p["code"] != "invalid_uscc" || field != "grantors[0].uscc" {
				t.Errorf("filing %d: %v %v naming %v", i, r["status"], p["code"], field)
			}
			continue
		}
		reg := r["registration"].(map[string]any)
		if r["status"].(float64) != 201 || !sameKeys(reg, "number", "registered_at", "expires_at", "version", "modification_code") {
			t.Errorf("filing %d: %v %v", i, r["status"], reg)
		}
		numbers[reg["number"].(string)] = true
		if i == 0 {
			// The summary is the registration's own.
			got := e.must(200, e.do("GET", "/registrations/"+reg["number"].(string), bank.Token, nil))
			if got["reference"] != "LN-0000" || got["registered_at"] != reg["registered_at"] || got["version"] != reg["version"] {
				t.Errorf("filing 0 is %v %v %v, its summary %v", got["reference"], got["registered_at"], got["version"], reg)
			}
		}
	}
	// A summary each, not the registration: a thousand fit in well under 1 MB.
	if len(first.Body) >= 1_000_000 {
		t.Errorf("the answer to 1,000 filings is %d bytes", len(first.Body))
	}
	if len(numbers) != 990 || e.count("SELECT count(*) FROM events") != events+990 {
		t.Errorf("%d distinct numbers, %d events filed; want 990", len(numbers), e.count("SELECT count(*) FROM events")-events)
	}
	again := e.do("POST", "/registrations/batch", bank.Token, body, "Idempotency-Key", "bulk-2026-12-02")
	if again.Status != 200 || !bytes.Equal(stripRequestIDs(again.Body), stripRequestIDs(first.Body)) {
		t.Errorf("the retry's answer differs (%d)", again.Status)
	}
	if n := e.count("SELECT count(*) FROM events"); n != events+990 {
		t.Errorf("the retry filed %d more", n-events-990)
	}
	e.problem(e.do("POST", "/registrations/batch", bank.Token, map[string]any{"filings": []any{}}), 422, "invalid_field")
	if n := e.count("SELECT count(*) FROM audit_entries WHERE action = 'registration.file' AND outcome = 'invalid'"); n < 10 {
		t.Errorf("%d refusals audited, want the 10 at least", n)
	}
}

// stripRequestIDs drops the request ids of problems, which differ between
// two requests.
func stripRequestIDs(b []byte) []byte {
	return requestID.ReplaceAll(b, nil)
}

var requestID = regexp.MustCompile(`,"request_id":"[^"]*"`)

// sameKeys reports whether m has exactly the keys named.
func sameKeys(m map[string]any, keys ...string) bool {
	if len(m) != len(keys) {
		return false
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	return true
}
