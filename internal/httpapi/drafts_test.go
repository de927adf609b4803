package httpapi_test

import (
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDrafts: a draft holds any part of a filing, unchecked, for its
// organization; filing it checks it exactly as POST /registrations does
// (the same 422, naming the same fields) and, once filed, it is gone. A
// retry with the Idempotency-Key gets the first answer; two filings of one
// draft at once file it once. Every change is audited.
func TestDrafts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant")
	colleague := e.newUser(bank.OrgID, usccs[0], "registrant")
	other := e.newAccount(usccs[2], "registrant")

	partial := map[string]any{"kind": "chattel_mortgage", "grantors": []any{map[string]any{"type": "organization", "name": grantorName}}, "period_months": 12}
	d := e.must(201, e.do("POST", "/drafts", bank.Token, partial))
	id := d["id"].(string)
	e.problem(e.do("POST", "/drafts", bank.Token, map[string]any{"kind": "x", "Kind": "y"}), 400, "malformed_request")
	// Its organization's registrants see it; another's do not.
	if got := e.must(200, e.do("GET", "/drafts/"+id, colleague.Token, nil)); got["filing"].(map[string]any)["kind"] != "chattel_mortgage" {
		t.Errorf("the colleague reads %v", got)
	}
	if items := list(e.must(200, e.do("GET", "/drafts", colleague.Token, nil))["items"]); len(items) != 1 {
		t.Errorf("the colleague lists %d drafts", len(items))
	}
	e.problem(e.do("GET", "/drafts/"+id, other.Token, nil), 404, "not_found")
	if items := list(e.must(200, e.do("GET", "/drafts", other.Token, nil))["items"]); len(items) != 0 {
		t.Errorf("another organization lists %d drafts", len(items))
	}

	// Filed incomplete: the very refusal POST /registrations gives.
	fromDraft := e.problem(e.do("POST", "/drafts/"+id+"/filing", bank.Token, nil), 422, "invalid_field")
	direct := e.problem(e.do("POST", "/registrations", bank.Token, partial), 422, "invalid_field")
	if diff := cmp.Diff(direct["errors"], fromDraft["errors"]); diff != "" {
		t.Errorf("the draft's refusal differs from the filing's (-direct +draft):\n%s", diff)
	}
	e.must(200, e.do("GET", "/drafts/"+id, bank.Token, nil))

	// Completed, then filed: the registration, and the draft gone.
	full := filing(grantorName, usccs[1])
	if got := e.must(200, e.do("PUT", "/drafts/"+id, colleague.Token, full)); got["filing"].(map[string]any)["period_months"] == nil {
		t.Errorf("the replaced draft: %v", got)
	}
	reg := e.must(201, e.do("POST", "/drafts/"+id+"/filing", bank.Token, nil, "Idempotency-Key", "draft-1"))
	if reg["status"] != "effective" || reg["modification_code"] == nil || reg["kind"] != "chattel_mortgage" {
		t.Errorf("filed: %v", reg)
	}
	again := e.must(201, e.do("POST", "/drafts/"+id+"/filing", bank.Token, nil, "Idempotency-Key", "draft-1"))
	if again["number"] != reg["number"] {
		t.Errorf("the retry got %v, want the replay of %v", again["number"], reg["number"])
	}
	e.problem(e.do("GET", "/drafts/"+id, bank.Token, nil), 404, "not_found")
	e.problem(e.do("POST", "/drafts/"+id+"/filing", bank.Token, nil), 404, "not_found")

	// Two filings of one draft at once: one files it, the other finds it gone.
	twice := e.must(201, e.do("POST", "/drafts", bank.Token, full))["id"].(string)
	events := e.count("SELECT count(*) FROM events")
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i := range 2 {
		wg.Go(func() { statuses[i] = e.do("POST", "/drafts/"+twice+"/filing", bank.Token, nil).Status })
	}
	wg.Wait()
	if !(statuses[0] == 201 && statuses[1] == 404 || statuses[0] == 404 && statuses[1] == 201) {
		t.Errorf("two filings of one draft: %v", statuses)
	}
	if n := e.count("SELECT count(*) FROM events"); n != events+1 {
		t.Errorf("%d events filed from one draft", n-events)
	}

	// Deleted: gone, and audited like every change.
	gone := e.must(201, e.do("POST", "/drafts", bank.Token, partial))["id"].(string)
	e.must(204, e.do("DELETE", "/drafts/"+gone, bank.Token, nil))
	e.problem(e.do("DELETE", "/drafts/"+gone, bank.Token, nil), 404, "not_found")
	for action, want := range map[string]int{"draft.create": 3, "draft.update": 1, "draft.delete": 1} {
		if n := e.count("SELECT count(*) FROM audit_entries WHERE action = $1 AND outcome = 'success'", action); n != want {
			t.Errorf("%d %s entries, want %d", n, action, want)
		}
	}
}
