package httpapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/registry"
)

// TestBulkChanges: 1,000 changes in one request, 41 of them bad (a stale
// If-Match, a registration no longer effective, another's registration, a
// period of 0 months, two changes in one): the 959 others are made, each
// with its own event, audit entry and log leaf, and the 41 are refused in
// their places exactly as alone. The same request again with its
// Idempotency-Key gets the same answer and changes nothing more.
func TestBulkChanges(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("changes 1,000")
	}
	e := newEnvWith(t, func(c *registry.Config) { c.ExtensionWindowDays = 0 })
	bank := e.newAccount(usccs[0], "registrant")
	other := e.newAccount(usccs[3], "registrant")
	numbers := e.preload(bank, 1000)
	var theirs []string
	for range 10 {
		theirs = append(theirs, e.must(201, e.do("POST", "/registrations", other.Token, filing(grantorName, usccs[1])))["number"].(string))
	}
	type want struct {
		status      int
		code, field string
	}
	wants := make([]want, 1000)
	var changes []any
	for i, n := range numbers {
		ch := map[string]any{"number": n, "if_match": `"1"`}
		switch i % 3 {
		case 0:
			ch["extension"] = map[string]any{"period_months": 12}
		case 1:
			ch["cancellation"] = map[string]any{"reason": "debt_repaid"}
		case 2:
			ch["amendment"] = map[string]any{"description": fmt.Sprintf("Machine tools, lot %d, as amended", i)}
		}
		wants[i] = want{status: 201}
		switch i % 100 {
		case 11:
			ch["if_match"] = `"7"`
			wants[i] = want{412, "version_mismatch", ""}
		case 12:
			e.must(201, e.do("POST", "/registrations/"+n+"/cancellation", bank.Token, map[string]any{"reason": "other"}))
			delete(ch, "if_match")
			wants[i] = want{409, "registration_not_effective", ""}
		case 13:
			ch["number"] = theirs[i/100]
			delete(ch, "if_match")
			wants[i] = want{403, "forbidden", ""}
		case 14:
			ch = map[string]any{"number": n, "extension": map[string]any{"period_months": 0}}
			wants[i] = want{422, "invalid_field", "period_months"}
		}
		changes = append(changes, ch)
	}
	// Two changes of one registration are made in order: the second expects
	// the version the first leaves.
	changes[999] = map[string]any{"number": numbers[0], "if_match": `"2"`, "amendment": map[string]any{"description": "after its extension"}}
	// One that holds two changes is refused in its place.
	changes[998] = map[string]any{"number": numbers[998], "extension": map[string]any{"period_months": 6}, "cancellation": map[string]any{"reason": "other"}}
	wants[998] = want{422, "invalid_field", "extension"}

	events := e.count("SELECT count(*) FROM events")
	audited := e.count("SELECT count(*) FROM audit_entries WHERE outcome = 'success' AND action IN ('registration.extend', 'registration.cancel', 'registration.amend')")
	body := map[string]any{"changes": changes}
	first := e.do("POST", "/registrations/changes", bank.Token, body, "Idempotency-Key", "changes-2026-12-02")
	results := list(e.must(200, first)["results"])
	if len(results) != 1000 {
		t.Fatalf("%d results", len(results))
	}
	made, logIndexes := 0, map[float64]bool{}
	for i, r := range results {
		r := r.(map[string]any)
		w := wants[i]
		if int(r["index"].(float64)) != i || int(r["status"].(float64)) != w.status {
			t.Errorf("change %d: index %v, status %v; want %d", i, r["index"], r["status"], w.status)
			continue
		}
		if w.status != 201 {
			p := r["problem"].(map[string]any)
			if p["code"] != w.code {
				t.Errorf("change %d: %v, want %s", i, p["code"], w.code)
			}
			if w.field != "" {
				if got := fieldErrors(p); len(got) != 1 || got[0] != w.field+" invalid_field" {
					t.Errorf("change %d names %v, want %s", i, got, w.field)
				}
			}
			continue
		}
		made++
		reg := r["registration"].(map[string]any)
		if !sameKeys(reg, "number", "status", "expires_at", "version", "event_number", "log_index") || reg["event_number"] == "" {
			t.Errorf("change %d: %v", i, reg)
		}
		logIndexes[reg["log_index"].(float64)] = true
		wantStatus := map[int]string{0: "effective", 1: "cancelled", 2: "effective"}[i%3]
		if i == 999 {
			wantStatus = "effective"
		}
		if reg["status"] != wantStatus {
			t.Errorf("change %d left the registration %v, want %s", i, reg["status"], wantStatus)
		}
	}
	if made != 959 || len(logIndexes) != 959 {
		t.Errorf("%d changes made, at %d log positions; want 959", made, len(logIndexes))
	}
	if got := e.count("SELECT count(*) FROM events") - events; got != 959 {
		t.Errorf("%d events, want 959", got)
	}
	if got := e.count("SELECT log_size FROM register_head"); got != events+959 {
		t.Errorf("the log holds %d leaves, want %d", got, events+959)
	}
	if got := e.count("SELECT count(*) FROM audit_entries WHERE outcome = 'success' AND action IN ('registration.extend', 'registration.cancel', 'registration.amend')") - audited; got != 959 {
		t.Errorf("%d changes audited, want 959", got)
	}
	// Every refusal is audited as its change alone would be, naming the
	// registration.
	refusals := map[string]int{}
	for i, w := range wants {
		if w.status == 201 {
			continue
		}
		ch := changes[i].(map[string]any)
		action := "registration.change_many"
		switch {
		case ch["cancellation"] != nil && ch["extension"] == nil:
			action = "registration.cancel"
		case ch["amendment"] != nil:
			action = "registration.amend"
		case ch["extension"] != nil && ch["cancellation"] == nil:
			action = "registration.extend"
		}
		refusals[action]++
	}
	for action, want := range refusals {
		if got := e.count("SELECT count(*) FROM audit_entries WHERE outcome <> 'success' AND action = $1 AND target <> '' AND detail LIKE '%(bulk, change %'", action); got != want {
			t.Errorf("%d refusals of %s audited, want %d", got, action, want)
		}
	}
	// The change after another to the same registration saw its version.
	got := e.must(200, e.do("GET", "/registrations/"+numbers[0], bank.Token, nil))
	if got["version"].(float64) != 3 || got["collateral"].(map[string]any)["description"] != "after its extension" {
		t.Errorf("registration 0 is at version %v, described %v", got["version"], got["collateral"].(map[string]any)["description"])
	}

	again := e.do("POST", "/registrations/changes", bank.Token, body, "Idempotency-Key", "changes-2026-12-02")
	if again.Status != 200 || !bytes.Equal(stripRequestIDs(again.Body), stripRequestIDs(first.Body)) {
		t.Errorf("the retry's answer differs (%d)", again.Status)
	}
	if n := e.count("SELECT count(*) FROM events") - events; n != 959 {
		t.Errorf("the retry made %d more", n-959)
	}

	e.problem(e.do("POST", "/registrations/changes", bank.Token, map[string]any{"changes": []any{}}), 422, "invalid_field")
	e.problem(e.do("POST", "/registrations/changes", bank.Token, map[string]any{"changes": []any{map[string]any{"number": numbers[0], "extension": map[string]any{"months": 3}}}}), 400, "malformed_request")
	searcher := e.newAccount(usccs[4], "searcher")
	e.problem(e.do("POST", "/registrations/changes", searcher.Token, body), 403, "forbidden")
}

// TestBulkChangesAnswerInTime: with the register locked, a bulk change of
// 200 changes to three registrations (three runs, each in order) is still
// answered within request_timeout: every change 503 in its place, none made.
func TestBulkChangesAnswerInTime(t *testing.T) {
	const timeout = 2 * time.Second
	e := newEnvWith(t, func(*registry.Config) {}, func(s *stack) { s.HTTP.RequestTimeout = timeout })
	bank := e.newAccount(usccs[0], "registrant")
	var numbers []string
	for range 3 {
		numbers = append(numbers, e.must(201, e.do("POST", "/registrations", bank.Token, filing(grantorName, usccs[1])))["number"].(string))
	}
	events := e.count("SELECT count(*) FROM events")
	tx, err := e.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.Exec("LOCK TABLE events IN EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	var changes []any
	for i := range 200 {
		changes = append(changes, map[string]any{"number": numbers[i%3], "amendment": map[string]any{"description": fmt.Sprintf("amended %d", i)}})
	}
	r := e.do("POST", "/registrations/changes", bank.Token, map[string]any{"changes": changes})
	took := r.Took
	_ = tx.Rollback()
	if took > timeout {
		t.Errorf("answered after %v, past request_timeout %v", took, timeout)
	}
	results := list(e.must(http.StatusOK, r)["results"])
	if len(results) != len(changes) {
		t.Fatalf("%d results for %d changes", len(results), len(changes))
	}
	for i, res := range results {
		res := res.(map[string]any)
		p, _ := res["problem"].(map[string]any)
		if int(res["index"].(float64)) != i || res["status"].(float64) != 503 || p["code"] != "unavailable" {
			t.Fatalf("change %d: %v", i, res)
		}
	}
	if n := e.count("SELECT count(*) FROM events"); n != events {
		t.Errorf("%d made", n-events)
	}
}
