package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/movable-registry/registry/internal/httpapi"
	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/registry"
)

func signUpBody(uscc, email string) map[string]any {
	return map[string]any{
		"organization": map[string]any{"name": "苏州新材料科技有限公司", "uscc": uscc, "kind": "enterprise"},
		"user":         map[string]any{"email": email, "display_name": "王经理", "password": "correct horse battery"},
	}
}

func TestSignUpAndApproval(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	uscc, email := freshUSCC(), "wang@suzhou-materials.cn"
	signIn := func() response {
		return e.do("POST", "/tokens", "", map[string]any{"email": email, "password": "correct horse battery"})
	}
	var orgID string

	t.Run("201: a pending organization whose first user is its org_admin, registrant and searcher", func(t *testing.T) {
		got := e.must(201, e.do("POST", "/signup", "", signUpBody(uscc, email)))
		org, user := obj(got["organization"]), obj(got["user"])
		orgID = org["id"].(string)
		if org["status"] != "pending" || org["uscc"] != uscc || user["email"] != email || user["organization_id"] != orgID {
			t.Errorf("signed up: %v", got)
		}
		if diff := cmp.Diff(user["roles"], []any{"org_admin", "registrant", "searcher"}); diff != "" {
			t.Errorf("roles (-got +want):\n%s", diff)
		}
		if _, ok := user["password"]; ok {
			t.Error("the answer holds the password")
		}
	})
	t.Run("403 at sign-in until approved; the right password learns why, a wrong one does not", func(t *testing.T) {
		p := e.problem(signIn(), 403, "organization_pending")
		if !strings.Contains(p["detail"].(string), "approv") {
			t.Errorf("detail %q does not say the organization is pending", p["detail"])
		}
		e.problem(e.do("POST", "/tokens", "", map[string]any{"email": email, "password": "wrong horse battery"}), 401, "unauthenticated")
	})
	t.Run("409: the USCC or the email again, and nothing is left behind", func(t *testing.T) {
		orgs := e.count("SELECT count(*) FROM organizations")
		e.problem(e.do("POST", "/signup", "", signUpBody(uscc, "other@example.cn")), 409, "conflict")
		p := e.problem(e.do("POST", "/signup", "", signUpBody(freshUSCC(), strings.ToUpper(email))), 409, "conflict")
		if !strings.Contains(p["detail"].(string), "email") {
			t.Errorf("detail %q does not name the email", p["detail"])
		}
		if n := e.count("SELECT count(*) FROM organizations"); n != orgs {
			t.Errorf("%d organizations after two refusals, want %d", n, orgs)
		}
	})
	t.Run("422: every bad field named under its object", func(t *testing.T) {
		body := map[string]any{
			"organization": map[string]any{"name": "", "uscc": "91310000132209458X", "kind": "bank"},
			"user":         map[string]any{"email": "not an email", "display_name": "", "password": "short"},
		}
		p := e.problem(e.do("POST", "/signup", "", body), 422, "invalid_field")
		want := []string{"organization.name invalid_field", "organization.uscc invalid_uscc", "organization.kind invalid_field",
			"user.email invalid_field", "user.display_name invalid_field", "user.password invalid_field"}
		if diff := cmp.Diff(fieldErrors(p), want); diff != "" {
			t.Errorf("errors (-got +want):\n%s", diff)
		}
		body["user"] = map[string]any{"email": "a@example.cn", "display_name": "甲"}
		body["organization"] = map[string]any{"name": "甲公司", "uscc": freshUSCC(), "kind": "enterprise"}
		p = e.problem(e.do("POST", "/signup", "", body), 422, "invalid_field")
		if diff := cmp.Diff(fieldErrors(p), []string{"user.password invalid_field"}); diff != "" {
			t.Errorf("a missing password (-got +want):\n%s", diff)
		}
		e.problem(e.do("POST", "/signup", "", `{"organization":{"name":"x","uscc":"x","kind":"enterprise","status":"active"}}`), 400, "malformed_request")
	})
	t.Run("the admin lists those awaiting approval and approves", func(t *testing.T) {
		pending := e.must(200, e.do("GET", "/organizations?status=pending", adminToken, nil))
		if items := list(pending["items"]); len(items) != 1 || obj(items[0])["id"] != orgID {
			t.Errorf("pending: %v", pending)
		} else if a := obj(obj(items[0])["applicant"]); a["email"] != email || a["display_name"] != "王经理" || obj(items[0])["created_at"] == nil {
			t.Errorf("the pending sign-up does not show its applicant and date: %v", items[0])
		}
		got := e.must(201, e.do("POST", "/organizations/"+orgID+"/approval", adminToken, nil))
		if got["status"] != "active" {
			t.Errorf("approved: %v", got)
		}
		e.problem(e.do("POST", "/organizations/"+orgID+"/approval", adminToken, nil), 409, "conflict")
		e.problem(e.do("POST", "/organizations/00000000-0000-7000-8000-000000000000/approval", adminToken, nil), 404, "not_found")
		e.problem(e.do("POST", "/organizations/not-an-id/approval", adminToken, nil), 404, "not_found")
		if items := list(e.must(200, e.do("GET", "/organizations?status=pending", adminToken, nil))["items"]); len(items) != 0 {
			t.Errorf("still pending: %v", items)
		}
	})
	var orgAdmin string
	t.Run("then the org_admin signs in and manages its own users only", func(t *testing.T) {
		orgAdmin = e.must(201, signIn())["token"].(string)
		u := e.must(201, e.do("POST", "/users", orgAdmin, map[string]any{"organization_id": orgID, "email": "li@suzhou-materials.cn", "display_name": "李", "roles": []string{"registrant"}, "password": "another long password"}))
		users := e.must(200, e.do("GET", "/users", orgAdmin, nil))
		if items := list(users["items"]); len(items) != 2 || obj(items[1])["id"] != u["id"] {
			t.Errorf("users: %v", users)
		}
		other := e.newAccount(usccs[0], "registrant")
		e.problem(e.do("GET", "/users?organization_id="+other.OrgID, orgAdmin, nil), 403, "forbidden")
		e.problem(e.do("POST", "/users", orgAdmin, map[string]any{"organization_id": other.OrgID, "email": "x@example.cn", "display_name": "x", "roles": []string{"registrant"}}), 403, "forbidden")
		e.problem(e.do("POST", "/users/"+other.UserID+"/suspension", orgAdmin, nil), 403, "forbidden")
		e.problem(e.do("POST", "/users", orgAdmin, map[string]any{"organization_id": orgID, "email": "y@example.cn", "display_name": "y", "roles": []string{"auditor"}}), 403, "forbidden")
		me := e.must(200, e.do("GET", "/me", orgAdmin, nil))
		e.problem(e.do("POST", "/users/"+obj(me["user"])["id"].(string)+"/suspension", orgAdmin, nil), 409, "conflict")

		li := e.must(201, e.do("POST", "/tokens", "", map[string]any{"email": "li@suzhou-materials.cn", "password": "another long password"}))["token"].(string)
		e.must(200, e.do("GET", "/me", li, nil))
		e.must(201, e.do("POST", "/users/"+u["id"].(string)+"/suspension", orgAdmin, nil))
		e.problem(e.do("GET", "/me", li, nil), 401, "unauthenticated")
		e.problem(e.do("POST", "/tokens", "", map[string]any{"email": "li@suzhou-materials.cn", "password": "another long password"}), 401, "unauthenticated")
		e.problem(e.do("POST", "/tokens", orgAdmin, map[string]any{"user_id": u["id"]}), 409, "conflict")
		e.must(201, e.do("POST", "/users/"+u["id"].(string)+"/reinstatement", orgAdmin, nil))
		e.problem(e.do("GET", "/me", li, nil), 401, "unauthenticated") // its old token stays revoked
		e.must(201, e.do("POST", "/tokens", "", map[string]any{"email": "li@suzhou-materials.cn", "password": "another long password"}))
	})
	t.Run("a suspended organization's tokens stop at once and do not come back", func(t *testing.T) {
		e.must(200, e.do("GET", "/me", orgAdmin, nil))
		got := e.must(201, e.do("POST", "/organizations/"+orgID+"/suspension", adminToken, nil))
		if got["status"] != "suspended" {
			t.Errorf("suspended: %v", got)
		}
		e.problem(e.do("GET", "/me", orgAdmin, nil), 401, "unauthenticated")
		p := e.problem(signIn(), 403, "organization_suspended")
		if !strings.Contains(p["detail"].(string), "suspended") {
			t.Errorf("detail %q", p["detail"])
		}
		e.problem(e.do("POST", "/organizations/"+orgID+"/suspension", adminToken, nil), 409, "conflict")
		users := list(e.must(200, e.do("GET", "/users?organization_id="+orgID, adminToken, nil))["items"])
		p = e.problem(e.do("POST", "/tokens", adminToken, map[string]any{"user_id": obj(users[0])["id"]}), 409, "conflict")
		if !strings.Contains(p["detail"].(string), "suspended") {
			t.Errorf("detail %q", p["detail"])
		}
		e.must(201, e.do("POST", "/organizations/"+orgID+"/approval", adminToken, nil))
		e.problem(e.do("GET", "/me", orgAdmin, nil), 401, "unauthenticated")
		e.must(201, signIn())
	})
	t.Run("staff roles are not held with an organization's", func(t *testing.T) {
		p := e.problem(e.do("POST", "/users", adminToken, map[string]any{"organization_id": orgID, "email": "z@example.cn", "display_name": "z", "roles": []string{"admin", "registrant"}}), 422, "invalid_field")
		if diff := cmp.Diff(fieldErrors(p), []string{"roles invalid_field"}); diff != "" {
			t.Errorf("(-got +want):\n%s", diff)
		}
	})
}

func TestTokenManagement(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant", "org_admin")
	clerk := e.newUser(bank.OrgID, usccs[0], "searcher")
	other := e.newAccount(usccs[1], "registrant", "org_admin")

	t.Run("a user lists its live tokens, never their secrets", func(t *testing.T) {
		second := e.must(201, e.do("POST", "/tokens", adminToken, map[string]any{"user_id": clerk.UserID}))["token"].(string)
		page := e.must(200, e.do("GET", "/tokens", clerk.Token, nil))
		items := list(page["items"])
		if len(items) != 2 {
			t.Fatalf("%d tokens, want 2: %v", len(items), page)
		}
		raw := string(e.do("GET", "/tokens", clerk.Token, nil).Body)
		if strings.Contains(raw, clerk.Token) || strings.Contains(raw, second) || strings.Contains(raw, "hash") {
			t.Errorf("a token list shows secrets: %s", raw)
		}
		first := obj(items[0])
		if first["user_id"] != clerk.UserID || first["created_at"] == nil || first["expires_at"] == nil || first["last_used_at"] == nil {
			t.Errorf("the token just used: %v", first)
		}
		if obj(items[1])["last_used_at"] != nil {
			t.Errorf("an unused token has last_used_at: %v", items[1])
		}
		for _, f := range []string{"created_at", "expires_at", "last_used_at"} {
			if _, err := time.Parse(registry.TimeLayout, first[f].(string)); err != nil {
				t.Errorf("%s %q: %v", f, first[f], err)
			}
		}
	})
	t.Run("its org_admin and the admin see them too; another organization does not", func(t *testing.T) {
		e.must(200, e.do("GET", "/tokens?user_id="+clerk.UserID, bank.Token, nil))
		e.must(200, e.do("GET", "/tokens?user_id="+clerk.UserID, adminToken, nil))
		e.problem(e.do("GET", "/tokens?user_id="+clerk.UserID, other.Token, nil), 403, "forbidden")
		e.problem(e.do("GET", "/tokens?user_id=00000000-0000-7000-8000-000000000000", other.Token, nil), 403, "forbidden")
		e.problem(e.do("GET", "/tokens?user_id=nope", clerk.Token, nil), 422, "invalid_field")
		e.problem(e.do("GET", "/tokens", adminToken, nil), 422, "invalid_field")
		e.problem(e.do("GET", "/tokens?limit=0", clerk.Token, nil), 422, "invalid_field")
	})
	t.Run("pages follow the cursor", func(t *testing.T) {
		for range 3 {
			e.must(201, e.do("POST", "/tokens", adminToken, map[string]any{"user_id": other.UserID}))
		}
		var seen []any
		cursor := ""
		for pages := 0; pages < 10; pages++ {
			page := e.must(200, e.do("GET", "/tokens?limit=2&cursor="+cursor, other.Token, nil))
			seen = append(seen, list(page["items"])...)
			next, _ := page["next_cursor"].(string)
			if next == "" {
				break
			}
			cursor = next
		}
		if len(seen) != 4 {
			t.Errorf("%d tokens over the pages, want 4", len(seen))
		}
		e.problem(e.do("GET", "/tokens?cursor=!!!", other.Token, nil), 422, "invalid_field")
	})
	t.Run("DELETE revokes at once; again is the same 204; others may not", func(t *testing.T) {
		tok := e.must(201, e.do("POST", "/tokens", "", map[string]any{"email": emailOf(t, e, clerk), "password": "a long enough password"}))["token"].(string)
		items := list(e.must(200, e.do("GET", "/tokens", tok, nil))["items"])
		id := obj(items[len(items)-1])["id"].(string)
		e.problem(e.do("DELETE", "/tokens/"+id, other.Token, nil), 403, "forbidden")
		e.must(200, e.do("GET", "/me", tok, nil))
		e.must(204, e.do("DELETE", "/tokens/"+id, tok, nil))
		e.problem(e.do("GET", "/me", tok, nil), 401, "unauthenticated")
		e.must(204, e.do("DELETE", "/tokens/"+id, bank.Token, nil))
		e.problem(e.do("DELETE", "/tokens/00000000-0000-7000-8000-000000000000", adminToken, nil), 404, "not_found")
		e.problem(e.do("DELETE", "/tokens/x", adminToken, nil), 404, "not_found")
		if n := e.count("SELECT count(*) FROM audit_entries WHERE action = 'token.revoke' AND outcome = 'success' AND target = $1", id); n != 2 {
			t.Errorf("%d audit entries of the revocation, want 2", n)
		}
	})
	t.Run("last_used_at is written at most once a minute", func(t *testing.T) {
		read := func() string {
			items := list(e.must(200, e.do("GET", "/tokens?user_id="+clerk.UserID, adminToken, nil))["items"])
			return obj(items[0])["last_used_at"].(string)
		}
		e.must(200, e.do("GET", "/me", clerk.Token, nil))
		before := read()
		e.clock.Advance(30 * time.Second)
		e.must(200, e.do("GET", "/me", clerk.Token, nil))
		if got := read(); got != before {
			t.Errorf("written again after 30 s: %s, then %s", before, got)
		}
		e.clock.Advance(31 * time.Second)
		e.must(200, e.do("GET", "/me", clerk.Token, nil))
		if got := read(); got == before {
			t.Errorf("not written after 61 s: %s", got)
		}
	})
}

func emailOf(t *testing.T, e *env, a account) string {
	t.Helper()
	return obj(e.must(200, e.do("GET", "/me", a.Token, nil))["user"])["email"].(string)
}

// unknownNumber is a well-formed number that nothing has.
var unknownNumber = registry.FormatNumber(time.Date(2026, 11, 26, 0, 0, 0, 0, registry.Shanghai), 99_999_999)

func TestRateLimits(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, func(*registry.Config) {}, func(o *stack) {
		o.API.PerToken = httpx.Limit{Rate: 1.0 / 60, Burst: 3}
		o.HTTP.PerAddress = httpx.Limit{Rate: 1.0 / 60, Burst: 8}
	})
	a := e.newAccount(usccs[0], "searcher") // two requests from 192.0.2.1
	b := e.newUser(a.OrgID, usccs[0], "searcher")

	t.Run("a token past its burst gets 429 with Retry-After; another token does not", func(t *testing.T) {
		for i := range 3 {
			e.must(200, e.do("GET", "/me", a.Token, nil, remoteAddr, fmt.Sprintf("198.51.100.%d:1000", i)))
		}
		r := e.do("GET", "/me", a.Token, nil, remoteAddr, "198.51.100.9:1000")
		p := e.problem(r, 429, "rate_limited")
		secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || secs < 1 || secs > 60 {
			t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
		}
		if !strings.Contains(p["detail"].(string), "token") {
			t.Errorf("detail %q", p["detail"])
		}
		e.must(200, e.do("GET", "/me", b.Token, nil, remoteAddr, "198.51.100.10:1000"))
		e.clock.Advance(time.Duration(secs) * time.Second)
		e.must(200, e.do("GET", "/me", a.Token, nil, remoteAddr, "198.51.100.11:1000"))
	})
	t.Run("an address past its burst gets 429 on every route, public ones too", func(t *testing.T) {
		from := []string{remoteAddr, "203.0.113.7:4000"}
		for range 8 {
			e.problem(e.do("GET", "/certificates/"+unknownNumber, "", nil, from...), 404, "not_found")
		}
		r := e.do("GET", "/certificates/"+unknownNumber, "", nil, from...)
		e.problem(r, 429, "rate_limited")
		e.problem(e.do("POST", "/tokens", "", map[string]any{"email": "x@example.cn", "password": "whatever it is"}, from...), 429, "rate_limited")
		e.must(200, e.do("GET", "/me", b.Token, nil, remoteAddr, "203.0.113.8:4000"))
	})
	t.Run("an IPv6 client is its /64", func(t *testing.T) {
		e := newEnvWith(t, func(*registry.Config) {}, func(o *stack) { o.HTTP.PerAddress = httpx.Limit{Rate: 1.0 / 3600, Burst: 2} })
		for _, from := range []string{"[2001:db8:1:2::1]:443", "[2001:db8:1:2:ffff::9]:443"} {
			e.problem(e.do("GET", "/certificates/"+unknownNumber, "", nil, remoteAddr, from), 404, "not_found")
		}
		e.problem(e.do("GET", "/certificates/"+unknownNumber, "", nil, remoteAddr, "[2001:db8:1:2:abcd::1]:443"), 429, "rate_limited")
		e.problem(e.do("GET", "/certificates/"+unknownNumber, "", nil, remoteAddr, "[2001:db8:1:3::1]:443"), 404, "not_found")
	})
	t.Run("40 concurrent requests against a burst of 10: exactly 10 pass", func(t *testing.T) {
		e := newEnvWith(t, func(*registry.Config) {}, func(o *stack) { o.API.PerToken = httpx.Limit{Rate: 1.0 / 3600, Burst: 10} })
		c := e.newAccount(usccs[1], "searcher")
		statuses := make(chan int, 40)
		var wg sync.WaitGroup
		for range 40 {
			wg.Go(func() { statuses <- e.do("GET", "/me", c.Token, nil).Status })
		}
		wg.Wait()
		close(statuses)
		count := map[int]int{}
		for s := range statuses {
			count[s]++
		}
		if count[200] != 10 || count[429] != 30 {
			t.Errorf("statuses %v, want 10 × 200 and 30 × 429", count)
		}
	})
	t.Run("every 429 is in the audit trail with the address and request id", func(t *testing.T) {
		// A client's first 429 in a second is an entry of its own; the rest
		// of that second are one entry with their count, once it is over.
		time.Sleep(1100 * time.Millisecond)
		if n := refusalsOnRecord(e, "198.51.100.9", "203.0.113.7"); n != 3 {
			t.Errorf("%d 429s on record, want 3", n)
		}
		if n := e.count(`SELECT count(*) FROM audit_entries WHERE outcome = 'denied' AND detail LIKE 'rate_limited%'
			AND source IN ('198.51.100.9', '203.0.113.7') AND request_id = ''`); n != 0 {
			t.Errorf("%d entries without a request id", n)
		}
		if n := e.count(`SELECT count(*) FROM audit_entries WHERE detail LIKE 'rate_limited%' AND source = '198.51.100.9' AND user_id = $1`, a.UserID); n != 1 {
			t.Errorf("the token's 429 names its user %d times, want 1", n)
		}
	})
}

// refusalsOnRecord counts the requests refused by a limit from the sources
// that the audit trail records: an entry each, plus the counts of the
// entries that stand for a second's more.
func refusalsOnRecord(e *env, sources ...string) int {
	e.t.Helper()
	rows, err := e.db.Query(`SELECT detail FROM audit_entries WHERE outcome = 'denied' AND detail LIKE 'rate_limited%' AND source = ANY($1)`, sources)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	more := regexp.MustCompile(`and (\d+) more requests from`)
	n := 0
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			e.t.Fatal(err)
		}
		if m := more.FindStringSubmatch(d); m != nil {
			k, _ := strconv.Atoi(m[1])
			n += k
		} else {
			n++
		}
	}
	return n
}

// TestRefusalFloodsAreTallied sends 300 requests over a limit from one
// address in well under a second: they are all on record, in two entries.
func TestRefusalFloodsAreTallied(t *testing.T) {
	e := newEnvWith(t, func(*registry.Config) {}, func(o *stack) { o.HTTP.PerAddress = httpx.Limit{Rate: 1.0 / 3600, Burst: 1} })
	from := []string{remoteAddr, "198.18.0.9:4000"}
	e.do("GET", "/certificates/"+unknownNumber, "", nil, from...)
	before := e.count(`SELECT count(*) FROM audit_entries`)
	start := time.Now()
	for range 300 {
		e.problem(e.do("GET", "/certificates/"+unknownNumber, "", nil, from...), 429, "rate_limited")
	}
	if time.Since(start) > 900*time.Millisecond {
		t.Skip("the machine is too slow to send 300 requests within a second")
	}
	time.Sleep(2100 * time.Millisecond)
	if n := refusalsOnRecord(e, "198.18.0.9"); n != 300 {
		t.Errorf("%d refusals on record, want 300", n)
	}
	if n := e.count(`SELECT count(*) FROM audit_entries`) - before; n > 4 {
		t.Errorf("%d audit entries for 300 refusals within a second, want at most 4", n)
	}
}

func TestSignInSlowdown(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, func(c *registry.Config) { c.SignInFailures = 3; c.SignInMaxDelay = time.Hour })
	a := e.newAccount(usccs[0], "searcher")
	email := emailOf(t, e, a)
	try := func(email, password, from string) response {
		return e.do("POST", "/tokens", "", map[string]any{"email": email, "password": password}, remoteAddr, from+":5000")
	}
	// The same sequence for an account that exists and one that does not.
	for _, who := range []string{email, "nobody@example.cn"} {
		t.Run(who, func(t *testing.T) {
			for i := range 4 {
				e.problem(try(who, "wrong password "+strconv.Itoa(i), "198.51.100.1"), 401, "unauthenticated")
			}
			// After 3 free failures the 4th costs a second: now even the right
			// password waits, and from another address too.
			r := e.problem(try(who, "a long enough password", "198.51.100.2"), 429, "rate_limited")
			_ = r
			if got := try(who, "a long enough password", "198.51.100.3"); got.Header.Get("Retry-After") != "1" {
				t.Errorf("Retry-After %q, want 1: %s", got.Header.Get("Retry-After"), got.Body)
			}
			e.clock.Advance(time.Second)
			e.problem(try(who, "wrong password again", "198.51.100.1"), 401, "unauthenticated")
			// The 5th failure costs 2 s.
			e.clock.Advance(time.Second)
			e.problem(try(who, "a long enough password", "198.51.100.1"), 429, "rate_limited")
			e.clock.Advance(time.Second)
			if who == email {
				e.must(201, try(who, "a long enough password", "198.51.100.1"))
				// Success forgives the account.
				e.problem(try(who, "wrong once more", "198.51.100.1"), 401, "unauthenticated")
				e.must(201, try(who, "a long enough password", "198.51.100.1"))
			} else {
				e.problem(try(who, "a long enough password", "198.51.100.1"), 401, "unauthenticated")
			}
		})
	}
	t.Run("failed sign-ins are audited under the account asked for", func(t *testing.T) {
		if n := e.count(`SELECT count(*) FROM audit_entries WHERE action = 'token.signin' AND outcome = 'denied' AND target = 'nobody@example.cn'`); n < 6 {
			t.Errorf("%d refused sign-ins audited under nobody@example.cn, want at least 6", n)
		}
	})
	t.Run("an address that fails across many accounts is slowed down too", func(t *testing.T) {
		for i := range 12 { // four times the account's allowance
			e.problem(try(fmt.Sprintf("guess%d@example.cn", i), "wrong password!", "192.0.2.200"), 401, "unauthenticated")
		}
		e.problem(try("guess-new@example.cn", "wrong password!", "192.0.2.200"), 401, "unauthenticated")
		e.problem(try(email, "a long enough password", "192.0.2.200"), 429, "rate_limited")
		e.must(201, try(email, "a long enough password", "192.0.2.201"))
	})
}

func TestIdentityNumbersMasked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant", "searcher") // controller and secured party
	lessor := e.newAccount(usccs[2], "searcher")             // a second secured party
	stranger := e.newAccount(usccs[1], "registrant", "searcher")
	auditor := e.newAccount(usccs[3], "auditor")
	const id, masked = "110101199003071233", "110101************"
	f := filing("上海星辰精密机械有限公司", usccs[5])
	f["grantors"] = append(f["grantors"].([]any), map[string]any{"type": "individual", "name": "张三", "id_number": id, "address": "上海市浦东新区张江路88号"})
	f["secured_parties"] = append(f["secured_parties"].([]any), map[string]any{"type": "organization", "name": "某租赁有限公司", "uscc": usccs[2], "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"})
	reg := e.must(201, e.do("POST", "/registrations", bank.Token, f))
	n := reg["number"].(string)
	idOf := func(r map[string]any) string { return obj(list(r["grantors"])[1])["id_number"].(string) }
	if idOf(reg) != id {
		t.Fatalf("the filer's answer shows %q", idOf(reg))
	}

	for _, tt := range []struct {
		who   string
		token string
		want  string
	}{
		{"the controller", bank.Token, id},
		{"a secured party", lessor.Token, id},
		{"an auditor", auditor.Token, id},
		{"the admin", adminToken, id},
		{"another organization", stranger.Token, masked},
	} {
		t.Run("GET by "+tt.who, func(t *testing.T) {
			if got := idOf(e.must(200, e.do("GET", "/registrations/"+n, tt.token, nil))); got != tt.want {
				t.Errorf("id_number %q, want %q", got, tt.want)
			}
		})
	}
	search := func(token string, criteria map[string]any) (map[string]any, string) {
		s := e.must(201, e.do("POST", "/searches", token, map[string]any{"criteria": criteria}))
		if len(list(s["results"])) != 1 {
			t.Fatalf("results: %v", s)
		}
		return s, idOf(obj(obj(list(s["results"])[0])["registration"]))
	}
	t.Run("searches and stored searches by another organization are masked", func(t *testing.T) {
		for _, c := range []map[string]any{{"registration_number": n}, {"id_number": id}, {"uscc": usccs[5]}} {
			s, got := search(stranger.Token, c)
			if got != masked {
				t.Errorf("search %v shows %q", c, got)
			}
			stored := e.must(200, e.do("GET", "/searches/"+s["number"].(string), stranger.Token, nil))
			if idOf(obj(obj(list(stored["results"])[0])["registration"])) != masked {
				t.Errorf("stored search %v is not masked", c)
			}
			raw := e.do("GET", "/searches/"+s["number"].(string), auditor.Token, nil)
			if c["id_number"] == nil && strings.Contains(string(raw.Body), id) {
				t.Errorf("the stored search holds the number in full: %s", raw.Body)
			}
		}
	})
	t.Run("the controller's own search is not", func(t *testing.T) {
		if _, got := search(bank.Token, map[string]any{"registration_number": n}); got != id {
			t.Errorf("the controller's search shows %q", got)
		}
	})
	t.Run("another organization acting with the modification code sees it masked", func(t *testing.T) {
		got := e.must(201, e.do("POST", "/registrations/"+n+"/amendments", stranger.Token, map[string]any{"note": "代为办理", "description": "增加备件"},
			"Modification-Code", reg["modification_code"].(string)))
		if idOf(got) != masked {
			t.Errorf("the answer shows %q", idOf(got))
		}
		if idOf(e.must(200, e.do("GET", "/registrations/"+n, bank.Token, nil))) != id {
			t.Error("the register lost the number")
		}
	})
	t.Run("a search by identity number is audited with its searcher and the number", func(t *testing.T) {
		if n := e.count(`SELECT count(*) FROM audit_entries WHERE action = 'search.create' AND user_id = $1 AND detail = $2`, stranger.UserID, "id_number "+id); n != 1 {
			t.Errorf("%d audit entries name the searcher and the number, want 1", n)
		}
	})
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newAccount(usccs[0], "searcher")
	for name, r := range map[string]response{
		"an answer with a token":    e.do("GET", "/me", a.Token, nil),
		"a problem":                 e.do("GET", "/me", "", nil),
		"a public answer":           e.do("GET", "/certificates/"+unknownNumber, "", nil),
		"an unmatched path":         e.do("GET", "/nowhere", "", nil),
		"the health check":          httptestGet(e, "/healthz"),
		"the OpenAPI document":      e.do("GET", "/openapi.yaml", "", nil),
		"a refusal of a bad method": e.do("PUT", "/me", a.Token, nil),
	} {
		t.Run(name, func(t *testing.T) {
			for h, want := range map[string]string{
				"X-Content-Type-Options":  "nosniff",
				"X-Frame-Options":         "DENY",
				"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
				"Referrer-Policy":         "no-referrer",
			} {
				if got := r.Header.Get(h); got != want {
					t.Errorf("%s: %q, want %q", h, got, want)
				}
			}
		})
	}
	if got := e.do("GET", "/me", a.Token, nil).Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("an authenticated answer's Cache-Control %q", got)
	}
	if got := e.do("GET", "/certificates/"+unknownNumber, "", nil).Header.Get("Cache-Control"); got == "no-store" {
		t.Error("a public answer is marked no-store")
	}
}

func TestRefusalsAudited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newAccount(usccs[0], "searcher")
	e.do("GET", "/me", "rgt_wrong", nil, "X-Request-Id", "req-401")
	e.do("POST", "/registrations", a.Token, filing("甲公司", usccs[1]), "X-Request-Id", "req-403")
	rows, err := e.db.Query(`SELECT request_id, outcome, coalesce(user_id::text, ''), coalesce(organization_id::text, ''), source, action
		FROM audit_entries WHERE request_id IN ('req-401', 'req-403') ORDER BY request_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id, outcome, user, org, source, action string
		if err := rows.Scan(&id, &outcome, &user, &org, &source, &action); err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.Join([]string{id, outcome, user, org, source, action}, " "))
	}
	want := []string{
		"req-401 denied   192.0.2.1 me.read",
		"req-403 denied " + a.UserID + " " + a.OrgID + " 192.0.2.1 registration.file",
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("audit entries (-got +want):\n%s", diff)
	}
}

func TestClientAddress(t *testing.T) {
	t.Parallel()
	source := func(e *env, id string) string {
		var s string
		if err := e.db.QueryRow("SELECT source FROM audit_entries WHERE request_id = $1", id).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Run("X-Forwarded-For is ignored unless the peer is a trusted proxy", func(t *testing.T) {
		e := newEnv(t)
		e.do("GET", "/me", "", nil, "X-Forwarded-For", "198.51.100.77", "X-Request-Id", "untrusted")
		if got := source(e, "untrusted"); got != "192.0.2.1" {
			t.Errorf("source %q, want the peer 192.0.2.1", got)
		}
	})
	t.Run("a trusted proxy's X-Forwarded-For names the client", func(t *testing.T) {
		e := newEnvWith(t, func(*registry.Config) {}, func(o *stack) { o.HTTP.TrustedProxies = []string{"192.0.2.0/24"} })
		e.do("GET", "/me", "", nil, "X-Forwarded-For", "198.51.100.77", "X-Request-Id", "trusted")
		if got := source(e, "trusted"); got != "198.51.100.77" {
			t.Errorf("source %q, want 198.51.100.77", got)
		}
	})
}

// With rate_limits.shared, a token's limit is kept in the database: a
// client that spreads its requests over two instances gets one limit.
func TestSharedLimitsHoldAcrossInstances(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newAccount(usccs[0], "searcher")
	instance := func() http.Handler {
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		return httpx.New(httpx.Options{Logger: log, SharedLimits: e.store, PerAddress: httpx.Limit{Rate: 1.0 / 3600, Burst: 1000}},
			httpapi.NewRouter(e.svc, httpapi.Options{Logger: log, SharedLimits: e.store, PerToken: httpx.Limit{Rate: 1.0 / 3600, Burst: 10}}), nil)
	}
	instances := []http.Handler{instance(), instance()}
	passed, refused := 0, 0
	for i := range 30 {
		req := httptest.NewRequest("GET", httpapi.BasePath+"/me", nil)
		req.Header.Set("Authorization", "Bearer "+a.Token)
		w := httptest.NewRecorder()
		instances[i%2].ServeHTTP(w, req)
		switch w.Code {
		case 200:
			passed++
		case 429:
			refused++
			if w.Header().Get("Retry-After") == "" {
				t.Error("a 429 without Retry-After")
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	if passed != 10 || refused != 20 {
		t.Errorf("%d passed and %d refused through two instances, want 10 and 20: one limit", passed, refused)
	}
}

// With shared limits, failed sign-ins are counted in the database: failures
// through one instance slow down the account on another.
func TestSignInBackoffHoldsAcrossInstances(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newAccount(usccs[0], "searcher")
	email := e.must(200, e.do("GET", "/me", a.Token, nil))["user"].(map[string]any)["email"].(string)
	instance := func() *registry.Service {
		return registry.NewService(e.store, time.Now, registry.Config{SignInFailures: 2, SignInMaxDelay: time.Hour, SharedSignIn: e.store})
	}
	first, second := instance(), instance()
	ctx := context.Background()
	for i := range 2 {
		c := registry.Caller{Source: fmt.Sprintf("198.51.100.%d", i+1)}
		if _, err := first.IssueToken(ctx, c, registry.TokenRequest{Email: email, Password: "not the password"}); !errors.Is(err, registry.ErrUnauthenticated) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	_, err := second.IssueToken(ctx, registry.Caller{Source: "198.51.100.9"}, registry.TokenRequest{Email: email, Password: "not the password"})
	if !errors.Is(err, registry.ErrUnauthenticated) {
		t.Fatalf("the third failure, on the other instance: %v", err)
	}
	var limited *registry.RateLimitedError
	if _, err := first.IssueToken(ctx, registry.Caller{Source: "198.51.100.10"}, registry.TokenRequest{Email: email, Password: "a long enough password"}); !errors.As(err, &limited) {
		t.Errorf("after three failures on two instances: %v, want to wait", err)
	}
}
