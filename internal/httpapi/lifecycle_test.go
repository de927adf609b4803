package httpapi_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/movable-registry/registry/internal/identifiers"
)

// ts reads an RFC 3339 time from a JSON answer.
func ts(t testing.TB, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("time %v: %v", v, err)
	}
	return at
}

func obj(v any) map[string]any { return v.(map[string]any) }

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

// lastEvent is the newest entry of a registration's history.
func lastEvent(reg map[string]any) map[string]any {
	h := list(reg["history"])
	return obj(h[len(h)-1])
}

func org(name, uscc string) map[string]any {
	return map[string]any{"type": "organization", "name": name, "uscc": uscc, "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"}
}

// search runs a search and returns its answer.
func (e *env) search(token string, body map[string]any) map[string]any {
	e.t.Helper()
	return e.must(201, e.do("POST", "/searches", token, body))
}

func byName(name string) map[string]any {
	return map[string]any{"criteria": map[string]any{"grantor_name": name}}
}

func TestAmendments(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant")
	agent := e.newAccount(usccs[3], "registrant")
	searcher := e.newAccount(usccs[2], "searcher", "registrant")
	file := func() (string, string) {
		reg := e.must(201, e.do("POST", "/registrations", bank.Token, filing(grantorName, usccs[1])))
		return reg["number"].(string), reg["modification_code"].(string)
	}

	t.Run("201: items added with the amendment's time, removed, the description replaced", func(t *testing.T) {
		n, _ := file()
		before := e.must(200, e.do("GET", "/registrations/"+n, bank.Token, nil))
		oldItem := obj(list(obj(before["collateral"])["items"])[0])["id"].(string)
		e.clock.Advance(time.Second)
		r := e.do("POST", "/registrations/"+n+"/amendments", bank.Token, map[string]any{
			"add_items":       []any{map[string]any{"type": "vehicle", "serial_number": "LSVAU2180N2183311"}},
			"remove_item_ids": []any{oldItem},
			"description":     "All CNC machining centres and one forklift",
			"note":            "second drawdown",
		})
		reg := e.must(201, r)
		ev := lastEvent(reg)
		items := list(obj(reg["collateral"])["items"])
		if ev["type"] != "amendment" || ev["number"] == n || reg["version"] != 2.0 || r.Header.Get("ETag") != `"2"` {
			t.Errorf("amended = %v (ETag %s)", reg, r.Header.Get("ETag"))
		}
		if len(items) != 1 || obj(items[0])["serial_number"] != "LSVAU2180N2183311" || obj(items[0])["registered_at"] != ev["registered_at"] {
			t.Errorf("items = %v, want the new item at the amendment's time %v", items, ev["registered_at"])
		}
		if obj(reg["collateral"])["description"] != "All CNC machining centres and one forklift" || reg["registered_at"] != before["registered_at"] {
			t.Errorf("collateral = %v", reg["collateral"])
		}
		// The removed item is no longer found; the new one is, with its own time.
		if got := numbers(e.search(searcher.Token, map[string]any{"criteria": map[string]any{"serial_number": "DMG-2019-004411"}})); slices.Contains(got, n) {
			t.Errorf("a removed item still finds the registration")
		}
		s := e.search(searcher.Token, map[string]any{"criteria": map[string]any{"serial_number": "lsvau 2180 n2183311"}})
		if diff := cmp.Diff(numbers(s), []string{n}); diff != "" {
			t.Errorf("serial search (-got +want):\n%s", diff)
		}
		// The amendment's own number finds the registration and has its certificate.
		got := e.must(200, e.do("GET", "/registrations/"+ev["number"].(string), searcher.Token, nil))
		if got["number"] != n {
			t.Errorf("GET by the amendment's number = %v", got["number"])
		}
		cert := e.must(200, e.do("GET", "/certificates/"+ev["number"].(string), "", nil))
		if cert["kind_of_certificate"] != "amendment" || cert["registration_number"] != n {
			t.Errorf("certificate = %v", cert)
		}
	})

	t.Run("a renamed grantor stays searchable by its former name", func(t *testing.T) {
		n, _ := file()
		newName := "上海星辰智能装备股份有限公司"
		reg := e.must(201, e.do("POST", "/registrations/"+n+"/amendments", bank.Token, map[string]any{
			"rename_grantors": []any{map[string]any{"from": org(grantorName, usccs[1]), "to": org(newName, usccs[1])}},
		}))
		g := obj(list(reg["grantors"])[0])
		if g["name"] != newName || fmt.Sprint(g["former_names"]) != "["+grantorName+"]" {
			t.Errorf("grantor = %v", g)
		}
		matched := func(name string) string {
			for _, r := range list(e.search(searcher.Token, byName(name))["results"]) {
				if obj(obj(r)["registration"])["number"] == n {
					return obj(r)["matched_by"].(string)
				}
			}
			return "not found"
		}
		if got := matched("上海星辰精密机械有限公司"); got != "former_name" {
			t.Errorf("by the former name: %s", got)
		}
		if got := matched("上海星辰智能装备股份有限公司"); got != "current_name" {
			t.Errorf("by the new name: %s", got)
		}
		// A second rename keeps both former names.
		third := "星辰智能装备（上海）股份有限公司"
		reg = e.must(201, e.do("POST", "/registrations/"+n+"/amendments", bank.Token, map[string]any{
			"rename_grantors": []any{map[string]any{"from": org(newName, usccs[1]), "to": org(third, usccs[1])}},
		}))
		if got := fmt.Sprint(obj(list(reg["grantors"])[0])["former_names"]); got != "["+grantorName+" "+newName+"]" {
			t.Errorf("former names = %s", got)
		}
		if matched(grantorName) != "former_name" || matched(newName) != "former_name" || matched(third) != "current_name" {
			t.Errorf("after two renames: %s %s %s", matched(grantorName), matched(newName), matched(third))
		}
	})

	t.Run("grantors added and removed", func(t *testing.T) {
		n, _ := file()
		other := org("苏州工业园区示例科技有限公司", usccs[5])
		reg := e.must(201, e.do("POST", "/registrations/"+n+"/amendments", bank.Token, map[string]any{"add_grantors": []any{other}}))
		if len(list(reg["grantors"])) != 2 {
			t.Fatalf("grantors = %v", reg["grantors"])
		}
		reg = e.must(201, e.do("POST", "/registrations/"+n+"/amendments", bank.Token, map[string]any{"remove_grantors": []any{org(grantorName, usccs[1])}}))
		if len(list(reg["grantors"])) != 1 || obj(list(reg["grantors"])[0])["uscc"] != usccs[5] {
			t.Errorf("grantors = %v", reg["grantors"])
		}
		s := e.search(searcher.Token, map[string]any{"criteria": map[string]any{"uscc": usccs[1]}})
		if slices.Contains(numbers(s), n) {
			t.Error("a removed grantor still finds the registration")
		}
	})

	t.Run("an assignment hands control to the first new secured party", func(t *testing.T) {
		n, _ := file()
		newBank := e.newAccount(usccs[4], "registrant")
		reg := e.must(201, e.do("POST", "/registrations/"+n+"/amendments", bank.Token, map[string]any{
			"secured_parties": []any{org("深圳示例商业保理有限公司", usccs[4]), org("上海浦东发展银行股份有限公司张江科技支行", usccs[0])},
		}))
		if c := obj(reg["controller"]); c["organization_id"] != newBank.OrgID || c["uscc"] != usccs[4] {
			t.Errorf("controller = %v, want %s", c, newBank.OrgID)
		}
		e.problem(e.do("POST", "/registrations/"+n+"/amendments", bank.Token, map[string]any{"description": "no longer ours"}), 403, "forbidden")
		e.must(201, e.do("POST", "/registrations/"+n+"/amendments", newBank.Token, map[string]any{"description": "now ours"}))
	})

	t.Run("an assignee without an account controls it once it has one", func(t *testing.T) {
		n, _ := file()
		reg := e.must(201, e.do("POST", "/registrations/"+n+"/amendments", bank.Token, map[string]any{
			"secured_parties": []any{org("广州示例融资租赁有限公司", usccs[7])},
		}))
		if c := obj(reg["controller"]); c["organization_id"] != "" || c["uscc"] != usccs[7] {
			t.Errorf("controller = %v", c)
		}
		e.problem(e.do("POST", "/registrations/"+n+"/amendments", bank.Token, map[string]any{"description": "x"}), 403, "forbidden")
		lessor := e.newAccount(usccs[7], "registrant")
		e.must(201, e.do("POST", "/registrations/"+n+"/modification-code", lessor.Token, nil))
		e.must(201, e.do("POST", "/registrations/"+n+"/amendments", lessor.Token, map[string]any{"description": "the lessor's"}))
	})

	t.Run("the modification code lets another organization amend; rotation retires it", func(t *testing.T) {
		n, code := file()
		e.must(201, e.do("POST", "/registrations/"+n+"/amendments", agent.Token, map[string]any{"description": "by the agent"}, "Modification-Code", code))
		e.problem(e.do("POST", "/registrations/"+n+"/modification-code", agent.Token, nil, "Modification-Code", code), 403, "forbidden")
		r := e.do("POST", "/registrations/"+n+"/modification-code", bank.Token, nil)
		fresh := e.must(201, r)["modification_code"].(string)
		if fresh == code || len(fresh) != 24 || r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("new code %q (Cache-Control %q)", fresh, r.Header.Get("Cache-Control"))
		}
		e.problem(e.do("POST", "/registrations/"+n+"/amendments", agent.Token, map[string]any{"description": "old code"}, "Modification-Code", code), 403, "forbidden")
		e.must(201, e.do("POST", "/registrations/"+n+"/amendments", agent.Token, map[string]any{"description": "new code"}, "Modification-Code", fresh))
	})

	t.Run("422 names the field; nothing is written", func(t *testing.T) {
		n, _ := file()
		events := e.count("SELECT count(*) FROM events")
		cases := []struct {
			name string
			body any
			want []string
		}{
			{"no change", map[string]any{"note": "nothing"}, []string{"amendment invalid_field"}},
			{"unknown item", map[string]any{"remove_item_ids": []any{"nope"}}, []string{"remove_item_ids[0] invalid_field"}},
			{"the last grantor removed", map[string]any{"remove_grantors": []any{org(grantorName, usccs[1])}}, []string{"remove_grantors invalid_field"}},
			{"not a grantor", map[string]any{"rename_grantors": []any{map[string]any{"from": org("别的公司", usccs[1]), "to": org("新名", usccs[1])}}}, []string{"rename_grantors[0].from invalid_field"}},
			{"bad USCC", map[string]any{"add_grantors": []any{org("某公司", "91310115MA1K3YJ12H")}}, []string{"add_grantors[0].uscc invalid_uscc"}},
			{"already a grantor", map[string]any{"add_grantors": []any{org(grantorName, usccs[1])}}, []string{"add_grantors[0] invalid_field"}},
			{"former names sent", map[string]any{"add_grantors": []any{map[string]any{"type": "organization", "name": "某公司", "uscc": usccs[5], "address": "上海市", "former_names": []any{"x"}}}}, []string{"add_grantors[0].former_names invalid_field"}},
			{"serial already registered", map[string]any{"add_items": []any{map[string]any{"type": "equipment", "serial_number": "dmg 2019 004411"}}}, []string{"add_items[0].serial_number invalid_field"}},
			{"no secured party", map[string]any{"secured_parties": []any{}}, []string{"secured_parties invalid_field"}},
			{"empty description", map[string]any{"description": " "}, []string{"description invalid_field"}},
			{"bad amount", map[string]any{"max_secured_amount": map[string]any{"amount": "-1", "currency": "CNY"}}, []string{"max_secured_amount.amount invalid_field"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				p := e.problem(e.do("POST", "/registrations/"+n+"/amendments", bank.Token, c.body), 422, strings.Fields(c.want[0])[1])
				if diff := cmp.Diff(fieldErrors(p), c.want); diff != "" {
					t.Errorf("errors (-got +want):\n%s", diff)
				}
			})
		}
		if got := e.count("SELECT count(*) FROM events"); got != events {
			t.Errorf("refused amendments wrote %d events", got-events)
		}
	})

	t.Run("403 for a searcher, 409 once cancelled, 404 for nobody's number", func(t *testing.T) {
		n, code := file()
		only := e.newAccount(usccs[6], "searcher")
		e.problem(e.do("POST", "/registrations/"+n+"/amendments", only.Token, map[string]any{"description": "x"}, "Modification-Code", code), 403, "forbidden")
		e.must(201, e.do("POST", "/registrations/"+n+"/cancellation", bank.Token, `{"reason":"debt_repaid"}`))
		e.problem(e.do("POST", "/registrations/"+n+"/amendments", bank.Token, map[string]any{"description": "x"}), 409, "registration_not_effective")
		e.problem(e.do("POST", "/registrations/"+n+"/extensions", bank.Token, map[string]any{"period_months": 1}), 409, "registration_not_effective")
		nobody := n[:10] + "99999999"
		e.problem(e.do("POST", "/registrations/"+nobody+identifiers.NumberCheckDigits(nobody)+"/amendments", bank.Token, map[string]any{"description": "x"}), 404, "not_found")
	})
}

func TestListRegistrations(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, longLived)
	bank := e.newAccount(usccs[0], "registrant")
	other := e.newAccount(usccs[3], "registrant")
	searcher := e.newAccount(usccs[2], "searcher")
	var filed []string
	for i := 0; i < 7; i++ {
		filed = append(filed, e.must(201, e.do("POST", "/registrations", bank.Token, filing(grantorName, usccs[1])))["number"].(string))
	}
	e.must(201, e.do("POST", "/registrations", other.Token, filing(grantorName, usccs[1])))
	for _, n := range filed[2:4] {
		e.must(201, e.do("POST", "/registrations/"+n+"/cancellation", bank.Token, `{"reason":"debt_repaid"}`))
	}
	page := func(query string) ([]string, string) {
		got := e.must(200, e.do("GET", "/registrations"+query, bank.Token, nil))
		var ns []string
		for _, r := range list(got["items"]) {
			ns = append(ns, obj(r)["number"].(string))
		}
		cursor, _ := got["next_cursor"].(string)
		return ns, cursor
	}
	t.Run("pages of three in registration order", func(t *testing.T) {
		var all []string
		cursor := ""
		for pages := 0; ; pages++ {
			ns, next := page("?controller=mine&limit=3&cursor=" + cursor)
			all = append(all, ns...)
			if next == "" {
				if pages != 2 {
					t.Errorf("%d pages", pages+1)
				}
				break
			}
			cursor = next
		}
		if diff := cmp.Diff(all, filed); diff != "" {
			t.Errorf("listed (-got +want):\n%s", diff)
		}
	})
	t.Run("by status", func(t *testing.T) {
		if ns, _ := page("?status=cancelled"); !cmp.Equal(ns, filed[2:4]) {
			t.Errorf("cancelled = %v", ns)
		}
		if ns, _ := page("?status=effective"); len(ns) != 5 {
			t.Errorf("effective = %v", ns)
		}
		e.clock.Advance(37 * 31 * 24 * time.Hour)
		if ns, _ := page("?status=expired"); len(ns) != 5 {
			t.Errorf("expired three years on = %v", ns)
		}
	})
	t.Run("422 and 403", func(t *testing.T) {
		for q, field := range map[string]string{"?status=lost": "status", "?limit=0": "limit", "?limit=501": "limit", "?cursor=zz": "cursor", "?controller=all": "controller"} {
			p := e.problem(e.do("GET", "/registrations"+q, bank.Token, nil), 422, "invalid_field")
			if diff := cmp.Diff(fieldErrors(p), []string{field + " invalid_field"}); diff != "" {
				t.Errorf("%s: %s", q, diff)
			}
		}
		e.problem(e.do("GET", "/registrations", searcher.Token, nil), 403, "forbidden")
	})
}

// TestChangeAnswersAreWhatReadsShow checks that the state a write answers
// with (apply on the replayed state) is the state a later read replays.
func TestChangeAnswersAreWhatReadsShow(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, longLived)
	bank := e.newAccount(usccs[0], "registrant")
	grantor := e.newAccount(usccs[1], "registrant")
	e.clock.Stop(t, time.Date(2027, 5, 1, 12, 0, 0, 0, time.UTC))
	f := filing(grantorName, usccs[1])
	f["period_months"] = 2
	n := e.must(201, e.do("POST", "/registrations", bank.Token, f))["number"].(string)
	o := e.must(201, e.do("POST", "/registrations/"+n+"/objections", grantor.Token, map[string]any{"statement": "x"}))["number"].(string)
	steps := []struct{ path, token, body string }{
		{"/amendments", bank.Token, `{"add_items":[{"type":"inventory","serial_number":"INV-1"}],"rename_grantors":[{"from":{"type":"organization","name":"` + grantorName + `","uscc":"` + usccs[1] + `"},"to":{"type":"organization","name":"新名字有限公司","uscc":"` + usccs[1] + `"}}]}`},
		{"/extensions", bank.Token, `{"period_months":3}`},
		{"/objections/" + o + "/case-notice", grantor.Token, `{"court":"c","case_number":"1","accepted_on":"2027-04-30"}`},
		{"/amendments", bank.Token, `{"max_secured_amount":{"amount":"7","currency":"CNY"},"remove_item_ids":["` + n + `-1"]}`},
		{"/revocation", adminToken, `{"authority":"a","document_number":"d"}`},
	}
	for _, s := range steps {
		answered := e.must(201, e.do("POST", "/registrations/"+n+s.path, s.token, s.body))
		read := e.must(200, e.do("GET", "/registrations/"+n, bank.Token, nil))
		if _, isObjection := answered["filed_at"]; isObjection {
			read = obj(list(read["objections"])[0])
		}
		if diff := cmp.Diff(answered, read); diff != "" {
			t.Errorf("after %s (-answered +read):\n%s", s.path, diff)
		}
	}
}

// TestTimesHaveOneForm checks that every time in the answers is RFC 3339 in
// UTC with six fractional digits, also at a whole second, where Go's own
// encoding would print no fraction at all.
func TestTimesHaveOneForm(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, longLived)
	e.clock.Stop(t, time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC))
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	grantor := e.newAccount(usccs[1], "registrant")
	reg := e.must(201, e.do("POST", "/registrations", bank.Token, filing(grantorName, usccs[1])))
	n := reg["number"].(string)
	o := e.must(201, e.do("POST", "/registrations/"+n+"/objections", grantor.Token, map[string]any{"statement": "x"}))
	e.must(201, e.do("POST", "/registrations/"+n+"/objections/"+o["number"].(string)+"/withdrawal", grantor.Token, nil))
	answers := []map[string]any{
		reg, o,
		e.must(201, e.do("POST", "/registrations/"+n+"/cancellation", bank.Token, `{"reason":"other"}`)),
		e.search(bank.Token, map[string]any{"criteria": map[string]any{"uscc": usccs[1]}, "include_inactive": true}),
		e.search(bank.Token, map[string]any{"criteria": map[string]any{"uscc": usccs[1]}, "as_of": "2027-05-31T23:59:59Z"}),
		e.must(201, e.do("POST", "/tokens", adminToken, map[string]any{"user_id": bank.UserID})),
		e.must(200, e.do("GET", "/certificates/"+n, "", nil)),
	}
	form := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)
	seen := 0
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				walk(path+"."+k, x)
			}
		case []any:
			for i, x := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), x)
			}
		case string:
			if strings.HasSuffix(path, "_at") || strings.HasSuffix(path, ".as_of") {
				seen++
				if !form.MatchString(v) {
					t.Errorf("%s = %q", path, v)
				}
			}
		}
	}
	for i, a := range answers {
		walk(fmt.Sprint(i), a)
	}
	if seen < 15 {
		t.Errorf("only %d times checked", seen)
	}
}
