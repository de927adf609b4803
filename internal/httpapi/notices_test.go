package httpapi_test

import (
	"testing"
)

// TestNotices: a filing notifies its grantor and secured parties by USCC,
// not the filer nor anyone else; an amendment notifies the same parties as
// registration_changed; an objection notifies the controller and not the
// objector; a notice is marked read once, and only by its organization;
// the list filters by unread and kind, and refuses what it cannot read.
func TestNotices(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant")
	grantor := e.newAccount(usccs[1], "registrant")
	lessor := e.newAccount(usccs[2], "searcher")
	bystander := e.newAccount(usccs[3], "registrant")

	body := filing("上海星辰精密机械有限公司", usccs[1])
	body["secured_parties"] = append(body["secured_parties"].([]any), map[string]any{"type": "organization", "name": "某融资租赁有限公司", "uscc": usccs[2], "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"})
	number := e.must(201, e.do("POST", "/registrations", bank.Token, body))["number"].(string)

	notices := func(a account, query string) []map[string]any {
		t.Helper()
		var out []map[string]any
		for _, n := range list(e.must(200, e.do("GET", "/notifications"+query, a.Token, nil))["items"]) {
			out = append(out, n.(map[string]any))
		}
		return out
	}
	for _, a := range []account{grantor, lessor} {
		got := notices(a, "")
		if len(got) != 1 || got[0]["kind"] != "registration_filed" || got[0]["registration_number"] != number || got[0]["event_number"] != number || got[0]["read_at"] != nil {
			t.Fatalf("%s: notices %v, want one registration_filed for %s", a.OrgUSCC, got, number)
		}
	}
	for _, a := range []account{bank, bystander} {
		if got := notices(a, ""); len(got) != 0 {
			t.Errorf("%s (the filer, or unconcerned) has notices %v", a.OrgUSCC, got)
		}
	}

	e.must(201, e.do("POST", "/registrations/"+number+"/amendments", bank.Token, map[string]any{"description": "补充: 另有备件一批"}))
	got := notices(grantor, "?kind=registration_changed")
	if len(got) != 1 || got[0]["registration_number"] != number || got[0]["event_number"] == number {
		t.Fatalf("after the amendment, the grantor's registration_changed notices: %v", got)
	}
	if d, _ := got[0]["detail"].(map[string]any); d["event_type"] != "amendment" {
		t.Errorf("the amendment's notice says %v", got[0]["detail"])
	}

	e.must(201, e.do("POST", "/registrations/"+number+"/objections", grantor.Token, map[string]any{"statement": "我司从未设立此项担保。"}))
	if got := notices(bank, "?kind=objection"); len(got) != 1 {
		t.Errorf("the controller's objection notices: %v, want one", got)
	}
	if got := notices(grantor, "?kind=objection"); len(got) != 0 {
		t.Errorf("the objector was told of its own objection: %v", got)
	}

	// Read: once, by its organization only; unread lists the rest.
	first := notices(grantor, "?kind=registration_filed")[0]["id"].(string)
	e.problem(e.do("POST", "/notifications/"+first+"/read", lessor.Token, nil), 404, "not_found")
	e.must(204, e.do("POST", "/notifications/"+first+"/read", grantor.Token, nil))
	readAt := notices(grantor, "?kind=registration_filed")[0]["read_at"]
	if readAt == nil {
		t.Fatal("read_at not set")
	}
	e.must(204, e.do("POST", "/notifications/"+first+"/read", grantor.Token, nil))
	if again := notices(grantor, "?kind=registration_filed")[0]["read_at"]; again != readAt {
		t.Errorf("read again: read_at %v, was %v", again, readAt)
	}
	if unread := notices(grantor, "?unread=true"); len(unread) != 1 || unread[0]["kind"] != "registration_changed" {
		t.Errorf("unread: %v, want the amendment's notice", unread)
	}
	e.problem(e.do("POST", "/notifications/not-a-number/read", grantor.Token, nil), 404, "not_found")

	// Newest first, a page at a time.
	page := e.must(200, e.do("GET", "/notifications?limit=1", grantor.Token, nil))
	rest := e.must(200, e.do("GET", "/notifications?limit=1&cursor="+page["next_cursor"].(string), grantor.Token, nil))
	a, b := list(page["items"])[0].(map[string]any), list(rest["items"])[0].(map[string]any)
	if a["kind"] != "registration_changed" || b["kind"] != "registration_filed" {
		t.Errorf("pages: %v then %v", a, b)
	}
	for query, field := range map[string]string{"?kind=watch_everything": "kind", "?unread=maybe": "unread", "?cursor=xyz": "cursor", "?limit=0": "limit"} {
		p := e.problem(e.do("GET", "/notifications"+query, grantor.Token, nil), 422, "invalid_field")
		if got := fieldErrors(p); len(got) != 1 || got[0] != field+" invalid_field" {
			t.Errorf("%s: errors %v, want %s alone", query, got, field)
		}
	}
}
