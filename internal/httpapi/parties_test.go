package httpapi_test

import "testing"

// TestSavedParties: an organization keeps its own details and its frequent
// grantors under labels, checked as a filing's parties are (a wrong USCC is
// refused naming party.uscc, and a USCC is kept in stored form), found by
// label or name in any case, its own only, and deleted.
func TestSavedParties(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant")
	colleague := e.newUser(bank.OrgID, usccs[0], "registrant")
	other := e.newAccount(usccs[2], "registrant")
	save := func(token, label string, party map[string]any) map[string]any {
		return e.must(201, e.do("POST", "/parties", token, map[string]any{"label": label, "party": party}))
	}
	own := save(bank.Token, "本行（浦东支行）", map[string]any{"type": "organization", "name": "上海浦东发展银行股份有限公司张江科技支行", "uscc": usccs[0], "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"})
	save(bank.Token, "Borrower: Xingchen", map[string]any{"type": "organization", "name": grantorName, "uscc": usccs[1], "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"})
	save(other.Token, "their own", map[string]any{"type": "organization", "name": "某租赁公司", "uscc": usccs[2], "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"})

	bad := e.problem(e.do("POST", "/parties", bank.Token, map[string]any{"label": "x", "party": map[string]any{"type": "organization", "name": "某公司", "uscc": "91310115MA1K3YJ12X", "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"}}), 422, "invalid_uscc")
	if errs := list(bad["errors"]); len(errs) != 1 || errs[0].(map[string]any)["field"] != "party.uscc" {
		t.Errorf("a wrong USCC: %v", bad["errors"])
	}
	e.problem(e.do("POST", "/parties", bank.Token, map[string]any{"label": " ", "party": map[string]any{"type": "organization", "name": "某公司", "uscc": usccs[1], "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"}}), 422, "invalid_field")
	e.problem(e.do("POST", "/parties", bank.Token, map[string]any{"label": "x", "party": map[string]any{"type": "organization", "name": "某公司", "uscc": usccs[1], "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"}, "extra": 1}), 400, "malformed_request")

	labels := func(token, query string) []string {
		t.Helper()
		var out []string
		for _, it := range list(e.must(200, e.do("GET", "/parties"+query, token, nil))["items"]) {
			out = append(out, it.(map[string]any)["label"].(string))
		}
		return out
	}
	if got := labels(colleague.Token, ""); len(got) != 2 {
		t.Errorf("the colleague sees %v", got)
	}
	if got := labels(bank.Token, "?q=xingchen"); len(got) != 1 || got[0] != "Borrower: Xingchen" {
		t.Errorf("by label in another case: %v", got)
	}
	if got := labels(bank.Token, "?q=张江"); len(got) != 1 || got[0] != "本行（浦东支行）" {
		t.Errorf("by name: %v", got)
	}
	if got := labels(bank.Token, "?q=%25"); len(got) != 0 {
		t.Errorf("a %% matched %v", got)
	}
	if got := labels(other.Token, ""); len(got) != 1 || got[0] != "their own" {
		t.Errorf("the other organization sees %v", got)
	}
	e.problem(e.do("DELETE", "/parties/"+own["id"].(string), other.Token, nil), 404, "not_found")
	e.must(204, e.do("DELETE", "/parties/"+own["id"].(string), colleague.Token, nil))
	if got := labels(bank.Token, ""); len(got) != 1 {
		t.Errorf("after the deletion: %v", got)
	}
	if n := e.count("SELECT count(*) FROM audit_entries WHERE action IN ('party.create', 'party.delete') AND outcome = 'success'"); n != 4 {
		t.Errorf("%d audit entries for saved parties, want 4", n)
	}
}
