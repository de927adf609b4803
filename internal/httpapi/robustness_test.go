package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// mutations replaces each leaf of a JSON value, one at a time, with hostile
// values, and returns every resulting document.
func mutations(v any) []any {
	strs := []any{"\u0000", "a\u0000b", strings.Repeat("长", 5000), "\ufffd\ufffd", "😀", " ", "", "<script>", "' OR 1=1 --", "-1"}
	nums := []any{-1.0, 0.0, 1e9, 2147483648.0, 3.5, nil, "36", true, []any{}, map[string]any{}}
	var out []any
	root := v
	var walk func(node any, set func(any))
	walk = func(node any, set func(any)) {
		switch n := node.(type) {
		case map[string]any:
			for k, child := range n {
				k, child := k, child
				walk(child, func(x any) { n[k] = x })
				n[k] = child
			}
			// A missing field and a null object are hostile too.
			for k, child := range n {
				delete(n, k)
				set(n)
				out = append(out, clone(root))
				n[k] = child
				set(n)
			}
		case []any:
			for i, child := range n {
				i, child := i, child
				walk(child, func(x any) { n[i] = x })
				n[i] = child
			}
		case string:
			for _, s := range strs {
				set(s)
				out = append(out, clone(root))
			}
			set(n)
		default:
			for _, x := range nums {
				set(x)
				out = append(out, clone(root))
			}
			set(n)
		}
	}
	walk(v, func(any) {})
	return out
}

func clone(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

func toAny(v any) any { return clone(v) }

// TestNothingAClientSendsCausesA500 sends every mutation of valid bodies to
// each writing endpoint: no answer may be a 500, and each refusal is a problem.
func TestNothingAClientSendsCausesA500(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant", "searcher", "org_admin")
	reg := e.must(201, e.do("POST", "/registrations", bank.Token, filing(grantorName, usccs[1])))
	number := reg["number"].(string)
	other := e.must(201, e.do("POST", "/registrations", bank.Token, filing(grantorName, usccs[1])))["number"].(string)
	grantor := e.newAccount(usccs[1], "registrant")
	objection := e.must(201, e.do("POST", "/registrations/"+number+"/objections", grantor.Token, map[string]any{"statement": "x"}))["number"].(string)
	clerk := e.newUser(bank.OrgID, usccs[0], "searcher")
	party := map[string]any{"type": "organization", "name": "苏州工业园区示例科技有限公司", "uscc": usccs[5], "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"}
	individual := map[string]any{"type": "individual", "name": "张三", "id_number": "11010519491231002X", "address": "上海市浦东新区张江路88号"}
	cases := []struct {
		path, token string
		body        any
	}{
		{"/registrations", bank.Token, filing(grantorName, usccs[1])},
		{"/searches", bank.Token, map[string]any{"criteria": map[string]any{"grantor_name": grantorName}, "include_inactive": true}},
		{"/searches", bank.Token, map[string]any{"criteria": map[string]any{"uscc": usccs[1]}, "as_of": "2026-01-01T00:00:00Z"}},
		{"/organizations", adminToken, map[string]any{"name": "X", "uscc": usccs[2], "kind": "enterprise"}},
		{"/users", adminToken, map[string]any{"organization_id": bank.OrgID, "email": "r@x.cn", "display_name": "X", "roles": []any{"searcher"}, "password": "a long enough password"}},
		{"/tokens", "", map[string]any{"email": "r@x.cn", "password": "a long enough password"}},
		{"/tokens", adminToken, map[string]any{"user_id": bank.UserID}},
		{"/registrations/" + number + "/amendments", bank.Token, map[string]any{
			"add_items":       []any{map[string]any{"type": "vehicle", "serial_number": "LSVAU2180N2183311", "description": "x"}},
			"remove_item_ids": []any{number + "-1"}, "description": "y",
			"add_grantors": []any{party}, "remove_grantors": []any{individual},
			"rename_grantors":    []any{map[string]any{"from": map[string]any{"type": "organization", "name": grantorName, "uscc": usccs[1], "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"}, "to": party}},
			"secured_parties":    []any{party, individual},
			"max_secured_amount": map[string]any{"amount": "1.00", "currency": "USD"}, "note": "z",
		}},
		{"/registrations/" + number + "/extensions", bank.Token, map[string]any{"period_months": 12}},
		{"/registrations/" + number + "/objections", grantor.Token, map[string]any{"statement": "x", "interest": "y"}},
		{"/registrations/" + number + "/objections/" + objection + "/case-notice", grantor.Token, map[string]any{"court": "c", "case_number": "n", "accepted_on": "2026-11-01"}},
		{"/registrations/" + number + "/objections/" + objection + "/withdrawal", grantor.Token, map[string]any{}},
		{"/registrations/" + number + "/modification-code", bank.Token, map[string]any{}},
		{"/registrations/" + number + "/revocation", adminToken, map[string]any{"objection": objection, "authority": "a", "document_number": "d", "note": "n"}},
		{"/registrations/" + other + "/cancellation", bank.Token, map[string]any{"reason": "other", "note": "x"}},
		{"/signup", "", map[string]any{"organization": map[string]any{"name": "X", "uscc": usccs[6], "kind": "enterprise"},
			"user": map[string]any{"email": "s@x.cn", "display_name": "X", "password": "a long enough password"}}},
		{"/organizations/" + bank.OrgID + "/suspension", adminToken, map[string]any{}},
		{"/organizations/" + bank.OrgID + "/approval", adminToken, map[string]any{}},
		{"/users/" + clerk.UserID + "/suspension", bank.Token, map[string]any{}},
		{"/users/" + clerk.UserID + "/reinstatement", bank.Token, map[string]any{}},
	}
	total := 0
	for _, c := range cases {
		for _, body := range mutations(toAny(c.body)) {
			total++
			r := e.do("POST", c.path, c.token, body)
			if r.Status >= 500 {
				b, _ := json.Marshal(body)
				t.Errorf("POST %s %s: %s", c.path, b, r)
			}
			if r.Status >= 400 && r.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("POST %s: a %d that is not a problem", c.path, r.Status)
			}
		}
	}
	for _, p := range []string{"%00", "x", strings.Repeat("9", 200), number + "%00", "../../etc/passwd"} {
		for _, path := range []string{"/registrations/" + p, "/searches/" + p, "/certificates/" + p} {
			if r := e.do("GET", path, bank.Token, nil); r.Status >= 500 {
				t.Errorf("GET %s: %s", path, r)
			}
		}
	}
	for _, q := range []string{"?limit=-1", "?limit=1e9", "?cursor=%00", "?cursor=" + strings.Repeat("A", 5000), "?status[]=x", "?controller=%FF",
		"?organization_id=%00", "?organization_id=x", "?user_id='%20OR%201=1%20--", "?status=pending%00", "?cursor=" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		for _, list := range []string{"/registrations", "/organizations", "/users", "/tokens"} {
			for _, token := range []string{bank.Token, adminToken} {
				if r := e.do("GET", list+q, token, nil); r.Status >= 500 {
					t.Errorf("GET %s%s: %s", list, q, r)
				}
			}
		}
	}
	// The audit trail's filters and the log's positions.
	for _, q := range []string{"actor=%00", "actor=x'%20OR%201=1", "organization=%FF", "action=" + strings.Repeat("a", 5000), "target=%00",
		"outcome=%00", "from=2026-02-30T00:00:00Z", "to=99999-01-01T00:00:00Z", "from=2026-01-01T00:00:00%2B25:00", "cursor=LTE", "limit=99999999999999999999"} {
		for _, path := range []string{"/audit?", "/audit/export?"} {
			if r := e.do("GET", path+q, adminToken, nil); r.Status >= 500 {
				t.Errorf("GET %s%s: %s", path, q, r)
			}
		}
	}
	for _, q := range []string{"from=-1", "from=9223372036854775807", "to=9223372036854775808", "index=%00", "size=0", "index=0&size=-5",
		"from=1&to=0", "from=00", "index=+1", "from=0x10", "size=9223372036854775807&index=1"} {
		for _, path := range []string{"/log/entries?", "/log/proof/inclusion?", "/log/proof/consistency?"} {
			if r := e.do("GET", path+q, adminToken, nil); r.Status >= 500 {
				t.Errorf("GET %s%s: %s", path, q, r)
			}
		}
	}
	for _, p := range []string{"%00", "x", strings.Repeat("9", 200), "00000000-0000-0000-0000-000000000000", "../../etc/passwd"} {
		if r := e.do("DELETE", "/tokens/"+p, bank.Token, nil); r.Status >= 500 {
			t.Errorf("DELETE /tokens/%s: %s", p, r)
		}
		for _, path := range []string{"/organizations/" + p + "/approval", "/users/" + p + "/suspension"} {
			if r := e.do("POST", path, adminToken, nil); r.Status >= 500 {
				t.Errorf("POST %s: %s", path, r)
			}
		}
	}
	t.Logf("%d hostile bodies sent", total)
}
