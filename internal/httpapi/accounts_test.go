package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/movable-registry/registry/internal/registry"
)

func TestOrganizations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant", "org_admin")

	t.Run("201: the admin creates an organization", func(t *testing.T) {
		o := e.must(201, e.do("POST", "/organizations", adminToken, `{"name":"上海星辰精密机械有限公司","uscc":"91310115ma1k3yj12g","kind":"enterprise"}`))
		if o["uscc"] != "91310115MA1K3YJ12G" || o["kind"] != "enterprise" || o["id"] == "" || o["status"] != "active" {
			t.Errorf("organization = %v", o)
		}
	})
	t.Run("409: a USCC registered twice", func(t *testing.T) {
		e.problem(e.do("POST", "/organizations", adminToken, `{"name":"Again","uscc":"91310115MA1K3YJ12G","kind":"enterprise"}`), 409, "conflict")
	})
	t.Run("422: field errors", func(t *testing.T) {
		tests := []struct {
			name, body string
			code       string
			want       []string
		}{
			{"wrong check character", `{"name":"X","uscc":"91310115MA1K3YJ12H","kind":"enterprise"}`, "invalid_uscc", []string{"uscc invalid_uscc"}},
			{"unknown kind and no name", `{"name":"","uscc":"911100001000065859","kind":"bank"}`, "invalid_field", []string{"name invalid_field", "kind invalid_field"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := e.problem(e.do("POST", "/organizations", adminToken, tt.body), 422, tt.code)
				if diff := cmp.Diff(fieldErrors(p), tt.want); diff != "" {
					t.Errorf("errors (-got +want):\n%s", diff)
				}
			})
		}
	})
	t.Run("400: malformed bodies", func(t *testing.T) {
		for name, body := range map[string]string{
			"broken JSON":   `{"name":`,
			"unknown field": `{"name":"X","uscc":"911100001000065859","kind":"enterprise","extra":1}`,
			"wrong type":    `{"name":1,"uscc":"911100001000065859","kind":"enterprise"}`,
			"two values":    `{"name":"X","uscc":"911100001000065859","kind":"enterprise"}{}`,
			"empty body":    ``,
			"an array":      `[]`,
		} {
			t.Run(name, func(t *testing.T) {
				e.problem(e.do("POST", "/organizations", adminToken, body), 400, "malformed_request")
			})
		}
	})
	t.Run("401: no token, a wrong token, a wrong scheme", func(t *testing.T) {
		e.problem(e.do("POST", "/organizations", "", `{}`), 401, "unauthenticated")
		e.problem(e.do("POST", "/organizations", "rgt_wrong", `{}`), 401, "unauthenticated")
		e.problem(e.do("POST", "/organizations", "", `{}`, "Authorization", "Basic "+adminToken), 401, "unauthenticated")
	})
	t.Run("403: a registrant is not an admin", func(t *testing.T) {
		e.problem(e.do("POST", "/organizations", bank.Token, `{"name":"X","uscc":"911100001000065859","kind":"enterprise"}`), 403, "forbidden")
	})
	t.Run("413: a body over 1 MiB", func(t *testing.T) {
		big := `{"name":"` + strings.Repeat("x", 1<<20) + `"}`
		e.problem(e.do("POST", "/organizations", adminToken, big), 413, "payload_too_large")
	})
	t.Run("refusals are in the audit trail", func(t *testing.T) {
		if n := e.count(`SELECT count(*) FROM audit_entries WHERE action = 'organization.create' AND outcome = 'denied'`); n < 4 {
			t.Errorf("%d denied audit entries, want at least 4", n)
		}
		if n := e.count(`SELECT count(*) FROM audit_entries WHERE action = 'organization.create' AND outcome = 'invalid' AND request_id <> ''`); n < 9 {
			t.Errorf("%d invalid audit entries, want at least 9", n)
		}
		if n := e.count(`SELECT count(*) FROM audit_entries WHERE action = 'organization.create' AND outcome = 'success' AND actor = 'bootstrap_admin'`); n != 2 {
			t.Errorf("%d successful audit entries by the bootstrap admin, want 2", n)
		}
		if n := e.count(`SELECT count(*) FROM audit_entries WHERE action = 'organization.create' AND outcome = 'denied' AND actor = 'anonymous' AND source <> ''`); n != 3 {
			t.Errorf("%d anonymous refusals with a source address, want 3", n)
		}
		if n := e.count(`SELECT count(*) FROM audit_entries WHERE action = 'organization.create' AND outcome = 'denied' AND actor = 'user' AND user_id = $1 AND organization_id = $2`, bank.UserID, bank.OrgID); n != 1 {
			t.Errorf("%d refusals recorded with the registrant as actor, want 1", n)
		}
		if n := e.count(`SELECT count(*) FROM audit_entries WHERE action = 'token.signin' AND outcome = 'success' AND user_id = $1 AND organization_id = $2`, bank.UserID, bank.OrgID); n != 1 {
			t.Errorf("%d sign-ins recorded for the registrant, want 1", n)
		}
	})
}

func TestUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "org_admin")
	other := e.newAccount(usccs[1], "registrant")
	staff := e.newAccount(usccs[3], "admin")

	t.Run("201", func(t *testing.T) {
		tests := []struct {
			name, token, org string
			roles            []string
		}{
			{"the admin adds an auditor to the registry's own organization", adminToken, staff.OrgID, []string{"auditor"}},
			{"an org_admin adds a registrant to its own organization", bank.Token, bank.OrgID, []string{"registrant", "searcher"}},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				u := e.must(201, e.do("POST", "/users", tt.token, map[string]any{
					"organization_id": tt.org, "email": "New.User" + string(rune('a'+i)) + "@Example.cn", "display_name": "张三", "roles": tt.roles,
				}))
				if u["organization_id"] != tt.org || !strings.HasPrefix(u["email"].(string), "new.user") {
					t.Errorf("user = %v", u)
				}
				if _, leaked := u["password"]; leaked {
					t.Error("the answer shows a password")
				}
			})
		}
	})
	t.Run("403", func(t *testing.T) {
		tests := []struct {
			name, token, org string
			roles            []string
		}{
			{"an org_admin cannot add users to another organization", bank.Token, other.OrgID, []string{"registrant"}},
			{"an org_admin cannot make an auditor", bank.Token, bank.OrgID, []string{"auditor"}},
			{"an org_admin cannot make an admin", bank.Token, bank.OrgID, []string{"admin"}},
			{"a registrant cannot add users", other.Token, other.OrgID, []string{"registrant"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e.problem(e.do("POST", "/users", tt.token, map[string]any{"organization_id": tt.org, "email": "x@example.cn", "display_name": "X", "roles": tt.roles}), 403, "forbidden")
			})
		}
	})
	t.Run("409: an email that is taken", func(t *testing.T) {
		e.problem(e.do("POST", "/users", adminToken, map[string]any{"organization_id": bank.OrgID, "email": "NEW.USERA@example.cn", "display_name": "X", "roles": []string{"searcher"}}), 409, "conflict")
	})
	t.Run("422", func(t *testing.T) {
		tests := []struct {
			name string
			body map[string]any
			want []string
		}{
			{"no such organization", map[string]any{"organization_id": "00000000-0000-0000-0000-000000000000", "email": "a@b.cn", "display_name": "X", "roles": []string{"searcher"}}, []string{"organization_id invalid_field"}},
			{"not an email, an unknown role, a short password", map[string]any{"organization_id": bank.OrgID, "email": "not an email", "display_name": "X", "roles": []string{"searcher", "king"}, "password": "short"},
				[]string{"email invalid_field", "roles[1] invalid_field", "password invalid_field"}},
			{"no roles", map[string]any{"organization_id": bank.OrgID, "email": "a@b.cn", "display_name": "X", "roles": []string{}}, []string{"roles invalid_field"}},
			{"an auditor in a customer organization", map[string]any{"organization_id": other.OrgID, "email": "a@b.cn", "display_name": "X", "roles": []string{"auditor"}}, []string{"roles invalid_field"}},
			{"an admin in a customer organization", map[string]any{"organization_id": bank.OrgID, "email": "a@b.cn", "display_name": "X", "roles": []string{"admin"}}, []string{"roles invalid_field"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := e.problem(e.do("POST", "/users", adminToken, tt.body), 422, "invalid_field")
				if diff := cmp.Diff(fieldErrors(p), tt.want); diff != "" {
					t.Errorf("errors (-got +want):\n%s", diff)
				}
			})
		}
	})
	t.Run("400: roles of the wrong type", func(t *testing.T) {
		p := e.problem(e.do("POST", "/users", adminToken, `{"organization_id":"x","email":"a@b.cn","display_name":"X","roles":"searcher"}`), 400, "malformed_request")
		if diff := cmp.Diff(fieldErrors(p), []string{"roles malformed_request"}); diff != "" {
			t.Errorf("errors (-got +want):\n%s", diff)
		}
	})
}

func TestTokensAndMe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "org_admin", "registrant")
	other := e.newAccount(usccs[1], "searcher")

	t.Run("201: sign in with email and password; the token works for GET /me", func(t *testing.T) {
		u := e.must(201, e.do("POST", "/users", adminToken, map[string]any{"organization_id": bank.OrgID, "email": "signin@example.cn", "display_name": "X", "roles": []string{"searcher"}, "password": "correct horse battery"}))
		tok := e.must(201, e.do("POST", "/tokens", "", `{"email":"SignIn@example.cn","password":"correct horse battery"}`))
		token := tok["token"].(string)
		if len(token) < 40 {
			t.Errorf("token %q is too short for 256 bits", token)
		}
		exp, err := time.Parse(time.RFC3339Nano, tok["expires_at"].(string))
		if err != nil || exp.Before(time.Now().Add(24*time.Hour)) {
			t.Errorf("expires_at %v, %v", tok["expires_at"], err)
		}
		if n := e.count("SELECT count(*) FROM tokens WHERE hash = sha256($1::bytea)", []byte(token)); n != 1 {
			t.Errorf("%d tokens stored by hash, want 1", n)
		}
		if n := e.count("SELECT count(*) FROM tokens WHERE position($1::bytea in hash) > 0", []byte(token)); n != 0 {
			t.Error("the token is stored in clear")
		}
		me := e.must(200, e.do("GET", "/me", token, nil))
		if me["user"].(map[string]any)["id"] != u["id"] || me["organization"].(map[string]any)["id"] != bank.OrgID {
			t.Errorf("me = %v", me)
		}
		if diff := cmp.Diff(me["roles"], []any{"searcher"}); diff != "" {
			t.Errorf("roles (-got +want):\n%s", diff)
		}
	})
	t.Run("201: the admin and an org_admin issue tokens for a user", func(t *testing.T) {
		e.must(201, e.do("POST", "/tokens", adminToken, map[string]any{"user_id": other.UserID}))
		e.must(201, e.do("POST", "/tokens", bank.Token, map[string]any{"user_id": bank.UserID}))
	})
	t.Run("GET /me for the bootstrap admin", func(t *testing.T) {
		me := e.must(200, e.do("GET", "/me", adminToken, nil))
		if me["user"] != nil || me["roles"].([]any)[0] != "admin" {
			t.Errorf("me = %v", me)
		}
	})
	t.Run("401: a wrong password and an unknown email are told apart by nothing", func(t *testing.T) {
		a := e.problem(e.do("POST", "/tokens", "", `{"email":"signin@example.cn","password":"wrong password!"}`), 401, "unauthenticated")
		b := e.problem(e.do("POST", "/tokens", "", `{"email":"nobody@example.cn","password":"wrong password!"}`), 401, "unauthenticated")
		if a["detail"] != b["detail"] {
			t.Errorf("details differ: %q and %q", a["detail"], b["detail"])
		}
		// A sign-in's refusal says what went wrong, not that a token is
		// missing; a call with a bad token still says that.
		if a["detail"] != "the email or password is wrong" {
			t.Errorf("a wrong password's detail: %q", a["detail"])
		}
		pw := e.problem(e.do("POST", "/password", "", map[string]any{"email": "signin@example.cn", "password": "wrong password!", "new_password": "a brand new long password"}), 401, "unauthenticated")
		if pw["detail"] != a["detail"] {
			t.Errorf("a password change with a wrong password: %q", pw["detail"])
		}
		if p := e.problem(e.do("GET", "/me", "rgt_wrong", nil), 401, "unauthenticated"); p["detail"] != "a valid bearer token is required" {
			t.Errorf("a wrong token's detail: %q", p["detail"])
		}
	})
	t.Run("403: an org_admin cannot issue a token for another organization's user", func(t *testing.T) {
		e.problem(e.do("POST", "/tokens", bank.Token, map[string]any{"user_id": other.UserID}), 403, "forbidden")
		e.problem(e.do("POST", "/tokens", other.Token, map[string]any{"user_id": other.UserID}), 403, "forbidden")
	})
	t.Run("422: neither credentials nor a user", func(t *testing.T) {
		p := e.problem(e.do("POST", "/tokens", "", `{}`), 422, "invalid_field")
		if diff := cmp.Diff(fieldErrors(p), []string{"email invalid_field", "password invalid_field"}); diff != "" {
			t.Errorf("errors (-got +want):\n%s", diff)
		}
		e.problem(e.do("POST", "/tokens", adminToken, map[string]any{"user_id": "00000000-0000-0000-0000-000000000000"}), 422, "invalid_field")
	})
	t.Run("401: an expired token", func(t *testing.T) {
		e.must(200, e.do("GET", "/me", other.Token, nil))
		e.clock.Advance(31 * 24 * time.Hour)
		defer e.clock.Advance(-31 * 24 * time.Hour)
		e.problem(e.do("GET", "/me", other.Token, nil), 401, "unauthenticated")
	})
}

// With token holders remembered for a while, a revocation or suspension made
// through this service still stops the token at once; one made behind its
// back (by another instance) takes effect within the time remembered, and
// an expiry is never outlived.
func TestRememberedTokens(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, func(c *registry.Config) { c.PrincipalTTL = time.Minute })
	bank := e.newAccount(usccs[0], "registrant", "searcher", "org_admin")
	clerk := e.newUser(bank.OrgID, bank.OrgUSCC, "searcher")
	e.must(200, e.do("GET", "/me", clerk.Token, nil))
	e.must(201, e.do("POST", "/users/"+clerk.UserID+"/suspension", bank.Token, nil))
	e.problem(e.do("GET", "/me", clerk.Token, nil), 401, "unauthenticated")

	other := e.newUser(bank.OrgID, bank.OrgUSCC, "searcher")
	e.must(200, e.do("GET", "/me", other.Token, nil))
	if _, err := e.db.Exec("UPDATE tokens SET revoked_at = now() WHERE user_id = $1", other.UserID); err != nil {
		t.Fatal(err)
	}
	e.must(200, e.do("GET", "/me", other.Token, nil))
	e.clock.Advance(time.Minute)
	e.problem(e.do("GET", "/me", other.Token, nil), 401, "unauthenticated")
}
