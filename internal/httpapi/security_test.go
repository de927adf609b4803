package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/registry"
)

// The tests of this file each answer a finding of an attack on the register
// (staff roles in customer organizations, identity numbers recovered by
// searching, sign-up squatting, sign-in floods, bodies read two ways, text
// that hides itself, exposed metrics); each fails on the code before its fix.

// TestStaffRolesStayInTheRegistry: admin and auditor are held only by users
// of the registry's own organizations, and no org_admin manages them.
func TestStaffRolesStayInTheRegistry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "org_admin", "registrant")

	t.Run("an admin cannot give a customer's user a staff role", func(t *testing.T) {
		for _, role := range []string{"auditor", "admin"} {
			p := e.problem(e.do("POST", "/users", adminToken, map[string]any{"organization_id": bank.OrgID, "email": role + "@bank.example", "display_name": "X", "roles": []string{role}}), 422, "invalid_field")
			if diff := cmp.Diff(fieldErrors(p), []string{"roles invalid_field"}); diff != "" {
				t.Errorf("%s: errors (-got +want):\n%s", role, diff)
			}
		}
	})
	t.Run("sign-up cannot choose the registry's kind", func(t *testing.T) {
		p := e.problem(e.do("POST", "/signup", "", map[string]any{
			"organization": map[string]any{"name": "假登记机构", "uscc": freshUSCC(), "kind": "registry"},
			"user":         map[string]any{"email": "fake@registry.example", "display_name": "甲", "password": "a long enough password"},
		}), 422, "invalid_field")
		if diff := cmp.Diff(fieldErrors(p), []string{"organization.kind invalid_field"}); diff != "" {
			t.Errorf("errors (-got +want):\n%s", diff)
		}
	})

	// The registry's own organization has an org_admin too: it manages its
	// clerks, never the staff.
	staffOrg := e.newAccount(usccs[3], "auditor")
	clerkAdmin := e.newUser(staffOrg.OrgID, usccs[3], "org_admin")
	t.Run("an org_admin neither issues tokens for, suspends nor reinstates staff", func(t *testing.T) {
		e.problem(e.do("POST", "/tokens", clerkAdmin.Token, map[string]any{"user_id": staffOrg.UserID}), 403, "forbidden")
		e.problem(e.do("POST", "/users/"+staffOrg.UserID+"/suspension", clerkAdmin.Token, nil), 403, "forbidden")
		e.must(201, e.do("POST", "/users/"+staffOrg.UserID+"/suspension", adminToken, nil))
		e.problem(e.do("POST", "/users/"+staffOrg.UserID+"/reinstatement", clerkAdmin.Token, nil), 403, "forbidden")
		e.must(201, e.do("POST", "/users/"+staffOrg.UserID+"/reinstatement", adminToken, nil))
	})

	// A staff user left in a customer organization from before the rule.
	legacy := e.newUser(bank.OrgID, usccs[0], "searcher")
	email := legacyEmail(t, e, legacy.UserID)
	if _, err := e.db.Exec("UPDATE users SET roles = ARRAY['auditor'] WHERE id = $1", legacy.UserID); err != nil {
		t.Fatal(err)
	}
	t.Run("a staff user outside the registry is refused everywhere", func(t *testing.T) {
		e.problem(e.do("GET", "/log/entries?from=0&to=1", legacy.Token, nil), 401, "unauthenticated")
		e.problem(e.do("POST", "/tokens", "", map[string]any{"email": email, "password": "a long enough password"}), 403, "forbidden")
		e.problem(e.do("POST", "/tokens", bank.Token, map[string]any{"user_id": legacy.UserID}), 403, "forbidden")
		e.problem(e.do("POST", "/users/"+legacy.UserID+"/suspension", bank.Token, nil), 403, "forbidden")
		e.problem(e.do("POST", "/tokens", adminToken, map[string]any{"user_id": legacy.UserID}), 409, "conflict")
	})
	t.Run("and named for the operator at start", func(t *testing.T) {
		users, err := e.svc.StaffOutsideRegistry(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(users) != 1 || users[0].ID != legacy.UserID {
			t.Errorf("staff outside the registry = %+v, want only %s", users, legacy.UserID)
		}
	})
}

func legacyEmail(t *testing.T, e *env, userID string) string {
	t.Helper()
	var email string
	if err := e.db.QueryRow("SELECT email FROM users WHERE id = $1", userID).Scan(&email); err != nil {
		t.Fatal(err)
	}
	return email
}

// TestIdentityNumberSearchesCapped: a masked number plus searches by
// id_number is an oracle for the hidden digits; searching through the
// candidates (about 3,700 for 1900 to 2010) is refused long before it ends,
// and the burst is its own audited action.
func TestIdentityNumberSearchesCapped(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, func(c *registry.Config) { c.IDNumberPerHour = 60 })
	searcher := e.newAccount(usccs[2], "searcher")
	other := e.newUser(searcher.OrgID, usccs[2], "searcher")
	search := func(token, id string) response {
		return e.do("POST", "/searches", token, map[string]any{"criteria": map[string]any{"id_number": id}})
	}
	candidates := idNumberCandidates("110101", 3700)
	refusedAt := 0
	for i, id := range candidates {
		r := search(searcher.Token, id)
		if r.Status == http.StatusTooManyRequests {
			refusedAt = i + 1
			if r.Header.Get("Retry-After") == "" {
				t.Error("a refusal without Retry-After")
			}
			break
		}
		if r.Status != 201 {
			t.Fatalf("search %d: %s", i+1, r)
		}
	}
	if refusedAt != 61 {
		t.Fatalf("the first refusal came at search %d of %d, want 61", refusedAt, len(candidates))
	}
	// Every further guess is refused, and the burst is recorded once.
	for _, id := range candidates[refusedAt : refusedAt+40] {
		e.problem(search(searcher.Token, id), 429, "rate_limited")
	}
	if n := e.count(`SELECT count(*) FROM audit_entries WHERE action = 'search.id_number_burst' AND target = $1 AND outcome = 'denied'`, searcher.UserID); n != 1 {
		t.Errorf("%d burst entries, want 1", n)
	}
	if n := e.count(`SELECT count(*) FROM audit_entries WHERE action = 'search.create' AND outcome = 'denied' AND user_id = $1`, searcher.UserID); n != 41 {
		t.Errorf("%d refused searches audited, want 41", n)
	}
	// The cap is the searcher's: a colleague, and other criteria, go on.
	e.must(201, search(other.Token, candidates[0]))
	e.must(201, e.do("POST", "/searches", searcher.Token, map[string]any{"criteria": map[string]any{"uscc": usccs[1]}}))
	// An hour later the searcher may search again.
	e.clock.Advance(time.Hour + time.Second)
	e.must(201, search(searcher.Token, candidates[0]))
}

// idNumberCandidates makes n valid identity numbers of one place, with
// consecutive birth dates from 1 January 1900: what a guesser would try.
func idNumberCandidates(place string, n int) []string {
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	const checks = "10X98765432"
	out := make([]string, n)
	day := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range out {
		body := place + day.Format("20060102") + "123"
		sum := 0
		for j, c := range body {
			sum += int(c-'0') * weights[j]
		}
		out[i] = body + string(checks[sum%11])
		day = day.AddDate(0, 0, 1)
	}
	return out
}

// TestSignUpSquatting: a squatter's pending sign-up does not keep a company
// or a person out. The admin rejects it (freeing its USCC and email) or
// creates the real organization over it; sign-up has its own limit.
func TestSignUpSquatting(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, func(c *registry.Config) { c.SignUpsPerHour = 3 })
	signUp := func(addr, uscc, email string) response {
		return e.do("POST", "/signup", "", map[string]any{
			"organization": map[string]any{"name": "上海星辰精密机械有限公司", "uscc": uscc, "kind": "enterprise"},
			"user":         map[string]any{"email": email, "display_name": "甲", "password": "a long enough password"},
		}, remoteAddr, addr+":1234")
	}
	victim := freshUSCC()
	squat := e.must(201, signUp("203.0.113.7", victim, "cfo@xingchen.example"))["organization"].(map[string]any)
	e.problem(signUp("198.51.100.1", victim, "cfo@xingchen.example"), 409, "conflict")

	t.Run("rejection frees the USCC and the email", func(t *testing.T) {
		o := e.must(201, e.do("POST", "/organizations/"+squat["id"].(string)+"/rejection", adminToken, map[string]any{"note": "营业执照不符"}))
		if o["status"] != "rejected" {
			t.Errorf("status %v, want rejected", o["status"])
		}
		e.problem(e.do("POST", "/organizations/"+squat["id"].(string)+"/rejection", adminToken, nil), 409, "conflict")
		e.problem(e.do("POST", "/organizations/"+squat["id"].(string)+"/approval", adminToken, nil), 409, "conflict")
		// The squatter's password opens nothing; its holder hears why.
		e.problem(e.do("POST", "/tokens", "", map[string]any{"email": "cfo@xingchen.example", "password": "a long enough password"}), 403, "organization_rejected")
		real := e.must(201, signUp("198.51.100.1", victim, "cfo@xingchen.example"))
		if real["organization"].(map[string]any)["status"] != "pending" {
			t.Errorf("the real sign-up: %v", real)
		}
		if n := e.count(`SELECT count(*) FROM audit_entries WHERE action = 'organization.reject' AND target = $1 AND outcome = 'success'`, squat["id"]); n != 1 {
			t.Errorf("%d rejections audited, want 1", n)
		}
	})
	t.Run("an admin's POST /organizations is not blocked by a pending sign-up", func(t *testing.T) {
		other := freshUSCC()
		pending := e.must(201, signUp("203.0.113.8", other, "squat2@example.cn"))["organization"].(map[string]any)
		e.must(201, e.do("POST", "/organizations", adminToken, map[string]any{"name": "真公司", "uscc": other, "kind": "enterprise"}))
		if n := e.count(`SELECT count(*) FROM organizations WHERE id = $1 AND status = 'rejected'`, pending["id"]); n != 1 {
			t.Error("the pending sign-up was not rejected when the admin created the organization")
		}
		e.problem(e.do("POST", "/organizations", adminToken, map[string]any{"name": "真公司", "uscc": other, "kind": "enterprise"}), 409, "conflict")
	})
	t.Run("only a pending sign-up is rejected", func(t *testing.T) {
		o := e.must(201, e.do("POST", "/organizations", adminToken, map[string]any{"name": "某公司", "uscc": freshUSCC(), "kind": "enterprise"}))
		e.problem(e.do("POST", "/organizations/"+o["id"].(string)+"/rejection", adminToken, nil), 409, "conflict")
		e.problem(e.do("POST", "/organizations/"+o["id"].(string)+"/rejection", adminToken, map[string]any{"note": "x\u202ey"}), 422, "invalid_field")
	})
	t.Run("sign-up has its own limit per address", func(t *testing.T) {
		for i := range 3 {
			e.must(201, signUp("192.0.2.9", freshUSCC(), fmt.Sprintf("flood%d@example.cn", i)))
		}
		r := signUp("192.0.2.9", freshUSCC(), "flood3@example.cn")
		e.problem(r, 429, "rate_limited")
		if r.Header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
		e.must(201, signUp("192.0.2.10", freshUSCC(), "flood4@example.cn"))
	})
}

// TestSignInFlood: password hashing is bounded; a sign-in that cannot get a
// turn is 503 with Retry-After, and every refusal is in the audit trail.
func TestSignInFlood(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, func(c *registry.Config) {
		c.PasswordHashers, c.PasswordWait, c.PasswordCost = 1, 20*time.Millisecond, auth.DefaultPasswordCost
	})
	const n = 40
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := e.do("POST", "/tokens", "", map[string]any{"email": fmt.Sprintf("nobody%d@example.cn", i), "password": "a wrong password!"},
				remoteAddr, fmt.Sprintf("198.18.%d.%d:5555", i/200, i%200))
			statuses[i] = r.Status
			if r.Status == 503 && r.Header.Get("Retry-After") == "" {
				t.Error("a 503 without Retry-After")
			}
		})
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[503] == 0 || count[401]+count[503] != n {
		t.Errorf("statuses %v: want some 503 and the rest 401", count)
	}
	if got := e.count(`SELECT count(*) FROM audit_entries WHERE action = 'token.signin' AND outcome <> 'success'`); got != n {
		t.Errorf("%d refused sign-ins audited, want %d", got, n)
	}
}

// TestBodiesReadOneWay: what a proxy reads in a body is what the registry
// files: no key twice, no key in another case, no bytes that are not UTF-8.
func TestBodiesReadOneWay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant")
	const rest = `"grantors":[{"type":"organization","name":"上海星辰精密机械有限公司","uscc":"91310115MA1K3YJ12G","address":"上海市","legal_representative":"王建国"}],"secured_parties":[{"type":"organization","name":"某银行","uscc":"91310000132209458L","address":"上海市","legal_representative":"李明"}],"collateral":{"description":"设备","items":[]},"agreed_with_grantor":true,"period_months":12`
	tests := []struct {
		name, body, field string
		status            int
	}{
		{"kind given twice", `{"kind":"chattel_mortgage","kind":"retention_of_title",` + rest + `}`, "kind", 400},
		{"a key in capitals", `{"Kind":"chattel_mortgage",` + rest + `}`, "Kind", 400},
		{"a key in another case", `{"kind":"chattel_mortgage","PERIOD_MONTHS":12,` + strings.Replace(rest, `,"period_months":12`, "", 1) + `}`, "PERIOD_MONTHS", 400},
		{"a nested key twice", `{"kind":"chattel_mortgage",` + strings.Replace(rest, `"name":"某银行"`, `"name":"某银行","name":"另一银行"`, 1) + `}`, "secured_parties[0].name", 400},
		{"invalid UTF-8 in a name", `{"kind":"chattel_mortgage",` + strings.Replace(rest, "某银行", "某\xff银行", 1) + `}`, "secured_parties[0].name", 422},
		{"an escaped lone surrogate", `{"kind":"chattel_mortgage",` + strings.Replace(rest, "某银行", `某\ud800银行`, 1) + `}`, "secured_parties[0].name", 422},
		{"a right-to-left override in a name", `{"kind":"chattel_mortgage",` + strings.Replace(rest, "某银行", "Evil\u202eoC dtL", 1) + `}`, "secured_parties[0].name", 422},
		{"an isolate in a description", `{"kind":"chattel_mortgage",` + strings.Replace(rest, `"设备"`, `"设备\u2067x\u2069"`, 1) + `}`, "collateral.description", 422},
	}
	before := e.count("SELECT count(*) FROM registrations")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", "/registrations", bank.Token, tt.body)
			code := "malformed_request"
			if tt.status == 422 {
				code = "invalid_field"
			}
			p := e.problem(r, tt.status, code)
			if diff := cmp.Diff(fieldErrors(p), []string{tt.field + " " + code}); diff != "" {
				t.Errorf("errors (-got +want):\n%s", diff)
			}
		})
	}
	if after := e.count("SELECT count(*) FROM registrations"); after != before {
		t.Errorf("%d registrations filed by refused bodies", after-before)
	}
	// An honest U+FFFD is not taken for a lost character by the reader,
	// though a name may not hold one.
	p := e.problem(e.do("POST", "/registrations", bank.Token, `{"kind":"chattel_mortgage",`+strings.Replace(rest, "某银行", "某\uFFFD银行", 1)+`}`), 422, "invalid_field")
	if diff := cmp.Diff(fieldErrors(p), []string{"secured_parties[0].name invalid_field"}); diff != "" {
		t.Errorf("errors (-got +want):\n%s", diff)
	}
	// The same body, written as the contract writes it, files.
	e.must(201, e.do("POST", "/registrations", bank.Token, `{"kind":"chattel_mortgage",`+rest+`}`))
}

// TestMetricsNeedTheirToken: /metrics is not for anyone on the service port.
func TestMetricsNeedTheirToken(t *testing.T) {
	t.Parallel()
	const token = "metrics-token-0123456789abcdef0123456789"
	e := newEnvWith(t, func(*registry.Config) {}, func(o *stack) { o.HTTP.MetricsToken = token })
	for _, tt := range []struct {
		auth string
		want int
	}{{"", 401}, {"Bearer wrong", 401}, {"Bearer " + adminToken, 401}, {"Bearer " + token, 200}} {
		r := httptestGetWith(e, "/metrics", "Authorization", tt.auth)
		if r.Status != tt.want {
			t.Errorf("Authorization %q: %d, want %d", tt.auth, r.Status, tt.want)
		}
		if tt.want == 200 && !strings.Contains(string(r.Body), "registry_http_request_duration_seconds") {
			t.Errorf("the metrics lack the requests' histogram: %.200s", r.Body)
		}
	}
}

// A field error names the rule it broke and the rule's argument, beside the
// English message, so that a client can say it in its own words.
func TestFieldErrorsNameTheirRule(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant")
	f := filing(strings.Repeat("名", 201), usccs[1])
	f["period_months"] = 0
	p := e.problem(e.do("POST", "/registrations", bank.Token, f), 422, "invalid_field")
	got := map[string]map[string]any{}
	for _, x := range p["errors"].([]any) {
		fe := x.(map[string]any)
		got[fe["field"].(string)] = fe
	}
	if fe := got["grantors[0].name"]; fe["rule"] != "too_long" || fe["max"] != 200.0 || fe["message"] != "is longer than 200 characters" {
		t.Errorf("grantors[0].name: %v", fe)
	}
	if fe := got["period_months"]; fe["rule"] != "period" || fe["max"] != 360.0 {
		t.Errorf("period_months: %v", fe)
	}
}

// An empty register's operator gets the registry's organization and a first
// admin whose registry-made password signs nobody in until it is changed.
func TestBootstrapAndTheFirstPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u, password, err := e.svc.Bootstrap(ctx, registry.OrganizationInput{Name: "动产融资统一登记公示系统", USCC: usccs[3]}, "Admin@Registry.example", "管理员")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Bootstrap(ctx, registry.OrganizationInput{Name: "另一个", USCC: usccs[4]}, "other@registry.example", "乙"); !errors.Is(err, registry.ErrConflict) {
		t.Errorf("a second bootstrap: %v, want a conflict", err)
	}
	signIn := func(pw string) response {
		return e.do("POST", "/tokens", "", map[string]any{"email": u.Email, "password": pw})
	}
	e.problem(signIn(password), 403, "password_change_required")
	e.problem(e.do("POST", "/password", "", map[string]any{"email": u.Email, "password": "not the password", "new_password": "the admin's own long pass phrase"}), 401, "unauthenticated")
	e.problem(e.do("POST", "/password", "", map[string]any{"email": u.Email, "password": password, "new_password": "short"}), 422, "invalid_field")
	if r := e.do("POST", "/password", "", map[string]any{"email": u.Email, "password": password, "new_password": "the admin's own long pass phrase"}); r.Status != 204 {
		t.Fatalf("changing the first password: %s", r)
	}
	e.problem(signIn(password), 401, "unauthenticated")
	tok := e.must(201, signIn("the admin's own long pass phrase"))["token"].(string)
	orgs := e.must(200, e.do("GET", "/organizations", tok, nil))["items"].([]any)
	if len(orgs) != 1 || orgs[0].(map[string]any)["kind"] != "registry" {
		t.Errorf("organizations %v", orgs)
	}
	if n := e.count(`SELECT count(*) FROM audit_entries WHERE action IN ('registry.bootstrap', 'user.password') AND outcome = 'success'`); n != 2 {
		t.Errorf("%d entries for the bootstrap and the change, want 2", n)
	}
}
