package httpapi_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// shanghai is China Standard Time for building test instants.
var shanghai = time.FixedZone("CST", 8*3600)

func TestExtensionWindowAndExpiry(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, longLived)
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	filed := time.Date(2027, 1, 31, 10, 0, 0, 0, shanghai)
	e.clock.Stop(t, filed)
	f := filing(grantorName, usccs[1])
	f["period_months"] = 1
	reg := e.must(201, e.do("POST", "/registrations", bank.Token, f))
	n := reg["number"].(string)
	expires := ts(t, reg["expires_at"])
	if want := time.Date(2027, 2, 28, 10, 0, 0, 0, shanghai); !expires.Equal(want) {
		t.Fatalf("a 1-month registration filed on 31 January expires %v, want %v", expires, want)
	}
	// Filed less than 90 days before expiry: the window is open at once.
	e.must(201, e.do("POST", "/registrations/"+n+"/extensions", bank.Token, map[string]any{"period_months": 6}))
	reg = e.must(200, e.do("GET", "/registrations/"+n, bank.Token, nil))
	expires = ts(t, reg["expires_at"])
	if want := time.Date(2027, 8, 28, 10, 0, 0, 0, shanghai); !expires.Equal(want) || reg["period_months"] != 7.0 {
		t.Fatalf("extended to %v (%v months), want %v", expires, reg["period_months"], want)
	}
	// China keeps no daylight saving time: 90 calendar days are 90 × 24 hours.
	opens := expires.Add(-90 * 24 * time.Hour)

	t.Run("day 91 before expiry: 409 extension_window_closed", func(t *testing.T) {
		e.clock.Stop(t, opens.Add(-time.Microsecond))
		p := e.problem(e.do("POST", "/registrations/"+n+"/extensions", bank.Token, map[string]any{"period_months": 12}), 409, "extension_window_closed")
		if !strings.Contains(p["detail"].(string), opens.UTC().Format(time.RFC3339Nano)) {
			t.Errorf("detail %q does not say when the window opens (%s)", p["detail"], opens.UTC().Format(time.RFC3339Nano))
		}
	})
	t.Run("day 90 before expiry: 201, months added to the current expiry", func(t *testing.T) {
		e.clock.Stop(t, opens)
		reg := e.must(201, e.do("POST", "/registrations/"+n+"/extensions", bank.Token, map[string]any{"period_months": 12}))
		if got, want := ts(t, reg["expires_at"]), expires.AddDate(1, 0, 0); !got.Equal(want) {
			t.Errorf("expires_at %v, want %v", got, want)
		}
		if ev := lastEvent(reg); ev["type"] != "extension" || !ts(t, ev["registered_at"]).Equal(opens) {
			t.Errorf("event = %v", ev)
		}
		expires = ts(t, reg["expires_at"])
	})
	t.Run("422 for a period outside 1 to 360 months", func(t *testing.T) {
		for _, m := range []int{0, 361, -1} {
			p := e.problem(e.do("POST", "/registrations/"+n+"/extensions", bank.Token, map[string]any{"period_months": m}), 422, "invalid_field")
			if diff := cmp.Diff(fieldErrors(p), []string{"period_months invalid_field"}); diff != "" {
				t.Error(diff)
			}
		}
	})
	t.Run("effective until the instant before expiry, expired at it", func(t *testing.T) {
		e.clock.Stop(t, expires.Add(-time.Microsecond))
		if got := e.must(200, e.do("GET", "/registrations/"+n, bank.Token, nil))["status"]; got != "effective" {
			t.Errorf("a microsecond before expiry: %v", got)
		}
		if got := numbers(e.search(bank.Token, byName(grantorName))); !slices.Contains(got, n) {
			t.Error("not found a microsecond before expiry")
		}
		e.clock.Stop(t, expires)
		if got := e.must(200, e.do("GET", "/registrations/"+n, bank.Token, nil))["status"]; got != "expired" {
			t.Errorf("at expiry: %v", got)
		}
		if got := numbers(e.search(bank.Token, byName(grantorName))); slices.Contains(got, n) {
			t.Error("an expired registration is in a default search")
		}
		s := e.search(bank.Token, map[string]any{"criteria": map[string]any{"grantor_name": grantorName}, "include_inactive": true})
		if len(list(s["results"])) != 1 || obj(obj(list(s["results"])[0])["registration"])["status"] != "expired" {
			t.Errorf("include_inactive = %v", s["results"])
		}
		e.problem(e.do("POST", "/registrations/"+n+"/extensions", bank.Token, map[string]any{"period_months": 1}), 409, "registration_not_effective")
		e.problem(e.do("POST", "/registrations/"+n+"/cancellation", bank.Token, `{"reason":"debt_repaid"}`), 409, "registration_not_effective")
	})
}

func TestObjections(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, longLived)
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	grantor := e.newAccount(usccs[1], "registrant")
	rival := e.newAccount(usccs[4], "registrant")
	start := time.Date(2027, 3, 1, 9, 0, 0, 0, shanghai)
	e.clock.Stop(t, start)
	file := func() string {
		return e.must(201, e.do("POST", "/registrations", bank.Token, filing(grantorName, usccs[1])))["number"].(string)
	}
	object := func(n string, who account, body map[string]any) map[string]any {
		return e.must(201, e.do("POST", "/registrations/"+n+"/objections", who.Token, body))
	}

	t.Run("a grantor objects; the controller is notified; the registration shows it", func(t *testing.T) {
		n := file()
		o := object(n, grantor, map[string]any{"statement": "the loan was never drawn"})
		filed := ts(t, o["filed_at"])
		if o["status"] != "active" || !ts(t, o["lapses_at"]).Equal(filed.AddDate(0, 0, 30)) || obj(o["by"])["organization_id"] != grantor.OrgID {
			t.Errorf("objection = %v", o)
		}
		if got := e.count("SELECT count(*) FROM notifications WHERE organization_id = $1 AND event_number = $2 AND kind = 'objection'", bank.OrgID, o["number"]); got != 1 {
			t.Errorf("%d notifications for the controller", got)
		}
		reg := e.must(200, e.do("GET", "/registrations/"+n, bank.Token, nil))
		if len(list(reg["objections"])) != 1 || lastEvent(reg)["type"] != "objection" || reg["version"] != 2.0 {
			t.Errorf("registration = %v", reg)
		}
		found := false
		for _, r := range list(e.search(bank.Token, byName(grantorName))["results"]) {
			if reg := obj(obj(r)["registration"]); reg["number"] == n {
				found = len(list(reg["objections"])) == 1 && obj(list(reg["objections"])[0])["status"] == "active"
			}
		}
		if !found {
			t.Error("the search result does not show the active objection")
		}
	})
	t.Run("another organization must state its interest", func(t *testing.T) {
		n := file()
		p := e.problem(e.do("POST", "/registrations/"+n+"/objections", rival.Token, map[string]any{"statement": "we hold the machines"}), 422, "invalid_field")
		if diff := cmp.Diff(fieldErrors(p), []string{"interest invalid_field"}); diff != "" {
			t.Error(diff)
		}
		o := object(n, rival, map[string]any{"statement": "we hold the machines", "interest": "we bought them in 2025"})
		if o["interest"] != "we bought them in 2025" {
			t.Errorf("objection = %v", o)
		}
		e.problem(e.do("POST", "/registrations/"+n+"/objections", rival.Token, map[string]any{}), 422, "invalid_field")
	})
	t.Run("day 30: a case notice the instant before the lapse stops it; at the lapse it is too late", func(t *testing.T) {
		n := file()
		e.clock.Stop(t, start.Add(time.Hour))
		a := object(n, grantor, map[string]any{"statement": "A"})
		b := object(n, grantor, map[string]any{"statement": "B"})
		lapseA, lapseB := ts(t, a["lapses_at"]), ts(t, b["lapses_at"])
		notice := map[string]any{"court": "上海市浦东新区人民法院", "case_number": "(2027)沪0115民初1234号", "accepted_on": "2027-03-20"}

		e.clock.Stop(t, lapseA.Add(-time.Microsecond))
		got := e.must(201, e.do("POST", "/registrations/"+n+"/objections/"+a["number"].(string)+"/case-notice", grantor.Token, notice))
		if got["status"] != "litigating" || obj(got["case_notice"])["case_number"] != "(2027)沪0115民初1234号" {
			t.Errorf("after the notice: %v", got)
		}
		e.clock.Stop(t, lapseB)
		e.problem(e.do("POST", "/registrations/"+n+"/objections/"+b["number"].(string)+"/case-notice", grantor.Token, notice), 409, "objection_not_active")
		statuses := func() map[string]string {
			out := map[string]string{}
			for _, o := range list(e.must(200, e.do("GET", "/registrations/"+n, bank.Token, nil))["objections"]) {
				out[obj(o)["number"].(string)] = obj(o)["status"].(string)
			}
			return out
		}
		want := map[string]string{a["number"].(string): "litigating", b["number"].(string): "lapsed"}
		if diff := cmp.Diff(statuses(), want); diff != "" {
			t.Errorf("statuses on day 30 (-got +want):\n%s", diff)
		}
		e.clock.Stop(t, lapseB.Add(-time.Microsecond))
		want[b["number"].(string)] = "active"
		if diff := cmp.Diff(statuses(), want); diff != "" {
			t.Errorf("statuses the instant before B lapses (-got +want):\n%s", diff)
		}
	})
	t.Run("422 for a bad case notice", func(t *testing.T) {
		e.clock.Stop(t, start.Add(2*time.Hour))
		n := file()
		o := object(n, grantor, map[string]any{"statement": "x"})
		path := "/registrations/" + n + "/objections/" + o["number"].(string) + "/case-notice"
		p := e.problem(e.do("POST", path, grantor.Token, map[string]any{"court": "", "case_number": "1", "accepted_on": "2099-01-01"}), 422, "invalid_field")
		if diff := cmp.Diff(fieldErrors(p), []string{"court invalid_field", "accepted_on invalid_field"}); diff != "" {
			t.Error(diff)
		}
		e.problem(e.do("POST", path, grantor.Token, map[string]any{"court": "c", "case_number": "1", "accepted_on": "20.3.2027"}), 422, "invalid_field")
	})
	t.Run("withdrawal by the objector only, once", func(t *testing.T) {
		e.clock.Stop(t, start.Add(3*time.Hour))
		n := file()
		o := object(n, grantor, map[string]any{"statement": "x"})
		path := "/registrations/" + n + "/objections/" + o["number"].(string) + "/withdrawal"
		e.problem(e.do("POST", path, rival.Token, nil), 403, "forbidden")
		e.problem(e.do("POST", path, bank.Token, nil), 403, "forbidden")
		got := e.must(201, e.do("POST", path, grantor.Token, nil))
		if got["status"] != "withdrawn" || got["ended_at"] == nil {
			t.Errorf("withdrawn = %v", got)
		}
		e.problem(e.do("POST", path, grantor.Token, nil), 409, "objection_not_active")
		e.problem(e.do("POST", "/registrations/"+n+"/objections/"+n+"/withdrawal", grantor.Token, nil), 404, "not_found")
	})
	t.Run("revocation of one objection, then of the registration, by an admin only", func(t *testing.T) {
		e.clock.Stop(t, start.Add(4*time.Hour))
		n := file()
		o := object(n, grantor, map[string]any{"statement": "x"})
		order := map[string]any{"objection": o["number"], "authority": "上海市第一中级人民法院", "document_number": "(2027)沪01民终99号"}
		e.problem(e.do("POST", "/registrations/"+n+"/revocation", bank.Token, order), 403, "forbidden")
		reg := e.must(201, e.do("POST", "/registrations/"+n+"/revocation", adminToken, order))
		if reg["status"] != "effective" || obj(list(reg["objections"])[0])["status"] != "revoked" || lastEvent(reg)["type"] != "objection_revocation" {
			t.Errorf("after revoking the objection: %v", reg)
		}
		e.problem(e.do("POST", "/registrations/"+n+"/revocation", adminToken, order), 409, "objection_not_active")
		p := e.problem(e.do("POST", "/registrations/"+n+"/revocation", adminToken, map[string]any{"authority": "", "document_number": ""}), 422, "invalid_field")
		if diff := cmp.Diff(fieldErrors(p), []string{"authority invalid_field", "document_number invalid_field"}); diff != "" {
			t.Error(diff)
		}
		reg = e.must(201, e.do("POST", "/registrations/"+n+"/revocation", adminToken, map[string]any{"authority": "上海仲裁委员会", "document_number": "(2027)沪仲案字第7号"}))
		if reg["status"] != "revoked" || lastEvent(reg)["type"] != "revocation" || reg["ended_at"] == nil {
			t.Errorf("revoked = %v", reg)
		}
		e.problem(e.do("POST", "/registrations/"+n+"/cancellation", bank.Token, `{"reason":"other"}`), 409, "registration_not_effective")
		e.problem(e.do("POST", "/registrations/"+n+"/objections", grantor.Token, map[string]any{"statement": "x"}), 409, "registration_not_effective")
	})
}

// TestAsOfSearchesRepeatWhatWasSeen makes searches between the events of two
// registrations' lives, then repeats each as of the instant it was made and
// expects the same certified answer.
func TestAsOfSearchesRepeatWhatWasSeen(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, longLived)
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	grantor := e.newAccount(usccs[1], "registrant")
	const renamed = "上海星辰智能装备股份有限公司"
	queries := []map[string]any{
		byName(grantorName),
		byName(renamed),
		{"criteria": map[string]any{"grantor_name": grantorName}, "include_inactive": true},
		{"criteria": map[string]any{"uscc": usccs[1]}, "include_inactive": true},
		{"criteria": map[string]any{"serial_number": "LSVAU2180N2183311"}},
	}
	var made []map[string]any
	searchAll := func() {
		e.clock.Advance(time.Millisecond)
		for _, q := range queries {
			made = append(made, e.search(bank.Token, q))
		}
		e.clock.Advance(time.Millisecond)
	}
	searchAll()
	r1 := e.must(201, e.do("POST", "/registrations", bank.Token, filing(grantorName, usccs[1])))["number"].(string)
	searchAll()
	short := filing(grantorName, usccs[1])
	short["period_months"] = 2
	r2 := e.must(201, e.do("POST", "/registrations", bank.Token, short))["number"].(string)
	searchAll()
	e.must(201, e.do("POST", "/registrations/"+r1+"/amendments", bank.Token, map[string]any{
		"rename_grantors": []any{map[string]any{"from": org(grantorName, usccs[1]), "to": org(renamed, usccs[1])}},
		"add_items":       []any{map[string]any{"type": "vehicle", "serial_number": "LSVAU2180N2183311"}},
	}))
	searchAll()
	o := e.must(201, e.do("POST", "/registrations/"+r2+"/objections", grantor.Token, map[string]any{"statement": "disputed"}))
	searchAll()
	e.must(201, e.do("POST", "/registrations/"+r1+"/cancellation", bank.Token, `{"reason":"debt_repaid"}`))
	searchAll()
	e.must(201, e.do("POST", "/registrations/"+r2+"/extensions", bank.Token, map[string]any{"period_months": 12}))
	searchAll()
	e.must(201, e.do("POST", "/registrations/"+r2+"/objections/"+o["number"].(string)+"/withdrawal", grantor.Token, nil))
	searchAll()

	// Years later: the objection would have lapsed and both registrations
	// expired by the clock alone, but as of each instant they had not.
	e.clock.Advance(4 * 365 * 24 * time.Hour)
	for i, want := range made {
		q := map[string]any{"criteria": want["criteria"], "include_inactive": want["include_inactive"], "as_of": want["searched_at"]}
		got := e.search(bank.Token, q)
		for _, k := range []string{"results", "result_count", "register_position", "similar_names", "as_of"} {
			if diff := cmp.Diff(got[k], want[k]); diff != "" {
				t.Errorf("search %d (%v) as of %v: %s differs (-as of +then):\n%s", i, want["criteria"], want["searched_at"], k, diff)
			}
		}
	}
	if len(made) != 8*len(queries) {
		t.Fatalf("%d searches", len(made))
	}
	// The searches saw the register change, so the comparison compared something.
	if a, b := made[len(queries)]["result_count"], made[2*len(queries)]["result_count"]; a == b {
		t.Errorf("name searches after the first and the second filing both found %v", a)
	}
}
