package httpapi_test

import (
	"net/url"
	"testing"
	"time"
)

// TestSearchHistory: a searcher lists its organization's stored searches,
// newest first, paged and filtered by time, each reopening its certificate;
// another organization's are not among them; an auditor sees everyone's.
func TestSearchHistory(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, longLived)
	bank := e.newAccount(usccs[0], "searcher")
	other := e.newAccount(usccs[2], "searcher")
	auditor := e.newUser(e.must(201, e.do("POST", "/organizations", adminToken, map[string]any{"name": "登记机构", "uscc": usccs[3], "kind": "registry"}))["id"].(string), usccs[3], "auditor")
	search := func(token string, criteria map[string]any) string {
		return e.must(201, e.do("POST", "/searches", token, map[string]any{"criteria": criteria}))["number"].(string)
	}
	first := search(bank.Token, map[string]any{"uscc": usccs[1]})
	e.clock.Advance(time.Hour)
	middle := e.clock.Now()
	second := search(bank.Token, map[string]any{"grantor_name": grantorName})
	e.clock.Advance(time.Hour)
	third := search(bank.Token, map[string]any{"serial_number": "DMG-2019-004411"})
	theirs := search(other.Token, map[string]any{"uscc": usccs[1]})

	numbers := func(token, query string) ([]string, string) {
		t.Helper()
		page := e.must(200, e.do("GET", "/searches?"+query, token, nil))
		var out []string
		for _, it := range list(page["items"]) {
			out = append(out, it.(map[string]any)["number"].(string))
		}
		next, _ := page["next_cursor"].(string)
		return out, next
	}
	if got, _ := numbers(bank.Token, "mine=true"); len(got) != 3 || got[0] != third || got[1] != second || got[2] != first {
		t.Errorf("the bank's history %v, want [%s %s %s]", got, third, second, first)
	}
	page1, next := numbers(bank.Token, "mine=true&limit=2")
	page2, _ := numbers(bank.Token, "mine=true&limit=2&cursor="+next)
	if len(page1) != 2 || len(page2) != 1 || page2[0] != first {
		t.Errorf("pages %v then %v", page1, page2)
	}
	from := url.QueryEscape(middle.Add(-time.Minute).UTC().Format(time.RFC3339))
	to := url.QueryEscape(middle.Add(30 * time.Minute).UTC().Format(time.RFC3339))
	if got, _ := numbers(bank.Token, "from="+from+"&to="+to); len(got) != 1 || got[0] != second {
		t.Errorf("from %s to %s: %v, want [%s]", from, to, got, second)
	}
	// Each entry says what was searched and reopens the certificate.
	top := list(e.must(200, e.do("GET", "/searches?limit=1", bank.Token, nil))["items"])[0].(map[string]any)
	if top["criteria"].(map[string]any)["serial_number"] != "DMG-2019-004411" {
		t.Errorf("the newest entry: %v", top)
	}
	e.must(200, e.do("GET", "/searches/"+third, bank.Token, nil))
	// A searcher sees only its own, mine or not; an auditor everyone's.
	if got, _ := numbers(other.Token, "mine=false"); len(got) != 1 || got[0] != theirs {
		t.Errorf("the other organization's history %v", got)
	}
	if got, _ := numbers(auditor.Token, ""); len(got) != 4 {
		t.Errorf("the auditor sees %d searches, want 4", len(got))
	}
	e.problem(e.do("GET", "/searches?mine=perhaps", bank.Token, nil), 422, "invalid_field")
	e.problem(e.do("GET", "/searches?from=yesterday", bank.Token, nil), 422, "invalid_field")
	e.problem(e.do("GET", "/searches?from="+to+"&to="+from, bank.Token, nil), 422, "invalid_field")
	e.problem(e.do("GET", "/searches?cursor=bm90", bank.Token, nil), 422, "invalid_field")
}
