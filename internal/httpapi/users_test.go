package httpapi_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// signUpAs signs an organization up with a fresh USCC and email, roles
// as given (nil: the request names none).
func signUpAs(e *env, email string, roles []string) response {
	body := signUpBody(freshUSCC(), email)
	if roles != nil {
		body["user"].(map[string]any)["roles"] = roles
	}
	return e.do("POST", "/signup", "", body)
}

func TestSignUpGivesTheFirstUserWhatItNeeds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	t.Run("201", func(t *testing.T) {
		tests := []struct {
			name  string
			roles []string
			want  []any
		}{
			{"no roles named: org_admin, registrant and searcher", nil, []any{"org_admin", "registrant", "searcher"}},
			{"a subset that keeps org_admin", []string{"org_admin", "searcher"}, []any{"org_admin", "searcher"}},
			{"org_admin alone", []string{"org_admin", "org_admin"}, []any{"org_admin"}},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := e.must(201, signUpAs(e, "first"+string(rune('a'+i))+"@roles.example.cn", tt.roles))
				if diff := cmp.Diff(obj(got["user"])["roles"], tt.want); diff != "" {
					t.Errorf("roles (-got +want):\n%s", diff)
				}
			})
		}
	})
	t.Run("422 naming user.roles", func(t *testing.T) {
		tests := []struct {
			name  string
			roles []string
		}{
			{"without org_admin", []string{"registrant", "searcher"}},
			{"a staff role", []string{"org_admin", "auditor"}},
			{"the admin's role", []string{"org_admin", "admin"}},
			{"a role that does not exist", []string{"org_admin", "king"}},
			{"none at all", []string{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := e.problem(signUpAs(e, "refused@roles.example.cn", tt.roles), 422, "invalid_field")
				if diff := cmp.Diff(fieldErrors(p), []string{"user.roles invalid_field"}); diff != "" {
					t.Errorf("errors (-got +want):\n%s", diff)
				}
			})
		}
	})
	t.Run("once approved, the first user files and searches with no second account", func(t *testing.T) {
		got := e.must(201, signUpAs(e, "solo@roles.example.cn", nil))
		e.must(201, e.do("POST", "/organizations/"+obj(got["organization"])["id"].(string)+"/approval", adminToken, nil))
		token := e.must(201, e.do("POST", "/tokens", "", map[string]any{"email": "solo@roles.example.cn", "password": "correct horse battery"}))["token"].(string)
		uscc := obj(got["organization"])["uscc"].(string)
		body := filing("上海星辰精密机械有限公司", "91310115MA1K3YJ12G")
		body["secured_parties"] = []any{map[string]any{"type": "organization", "name": "苏州新材料科技有限公司", "uscc": uscc, "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"}}
		e.must(201, e.do("POST", "/registrations", token, body))
		e.must(201, e.do("POST", "/searches", token, map[string]any{"criteria": map[string]any{"grantor_name": "上海星辰精密机械有限公司"}}))
	})
}

func TestSignInSaysWhyTheOrganizationCannotAct(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	signUp := func(email string) string {
		return obj(e.must(201, signUpAs(e, email, nil))["organization"])["id"].(string)
	}
	signUp("pending@states.example.cn")
	rejected := signUp("rejected@states.example.cn")
	e.must(201, e.do("POST", "/organizations/"+rejected+"/rejection", adminToken, nil))
	suspended := signUp("suspended@states.example.cn")
	e.must(201, e.do("POST", "/organizations/"+suspended+"/approval", adminToken, nil))
	e.must(201, e.do("POST", "/organizations/"+suspended+"/suspension", adminToken, nil))
	active := signUp("active@states.example.cn")
	e.must(201, e.do("POST", "/organizations/"+active+"/approval", adminToken, nil))

	tests := []struct {
		email, password string
		status          int
		code            string
	}{
		{"pending@states.example.cn", "correct horse battery", 403, "organization_pending"},
		{"rejected@states.example.cn", "correct horse battery", 403, "organization_rejected"},
		{"suspended@states.example.cn", "correct horse battery", 403, "organization_suspended"},
		{"Active@States.example.cn", "correct horse battery", 201, ""},
		// A wrong password learns nothing of the organization.
		{"pending@states.example.cn", "wrong horse battery", 401, "unauthenticated"},
		{"rejected@states.example.cn", "wrong horse battery", 401, "unauthenticated"},
	}
	for _, tt := range tests {
		t.Run(tt.email+" "+tt.code, func(t *testing.T) {
			r := e.do("POST", "/tokens", "", map[string]any{"email": tt.email, "password": tt.password})
			if tt.status == 201 {
				e.must(201, r)
				return
			}
			e.problem(r, tt.status, tt.code)
		})
	}
	t.Run("a refused sign-in is audited with the email asked for", func(t *testing.T) {
		if n := e.count(`SELECT count(*) FROM audit_entries WHERE action = 'token.signin' AND outcome = 'denied' AND target = 'pending@states.example.cn' AND detail LIKE 'organization_pending:%'`); n != 1 {
			t.Errorf("%d denied sign-ins for the pending organization's user, want 1", n)
		}
	})
	t.Run("a rejected sign-up's email signs up again, and then it is the new account's", func(t *testing.T) {
		org := signUp("rejected@states.example.cn")
		e.problem(e.do("POST", "/tokens", "", map[string]any{"email": "rejected@states.example.cn", "password": "correct horse battery"}), 403, "organization_pending")
		e.must(201, e.do("POST", "/organizations/"+org+"/approval", adminToken, nil))
		e.must(201, e.do("POST", "/tokens", "", map[string]any{"email": "rejected@states.example.cn", "password": "correct horse battery"}))
	})
}

func TestUpdateUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "org_admin")
	clerk := e.newUser(bank.OrgID, bank.OrgUSCC, "searcher")
	other := e.newAccount(usccs[1], "org_admin", "registrant")
	staffOrg := e.newAccount(usccs[3], "admin")
	registryAdmin := e.newUser(staffOrg.OrgID, staffOrg.OrgUSCC, "org_admin")
	patch := func(token, id string, body any) response { return e.do("PATCH", "/users/"+id, token, body) }

	t.Run("200", func(t *testing.T) {
		tests := []struct {
			name, token, id string
			body            map[string]any
			check           func(u map[string]any) string
		}{
			{"an org_admin gives its clerk the registrant role", bank.Token, clerk.UserID, map[string]any{"roles": []string{"searcher", "registrant", "searcher"}},
				func(u map[string]any) string { return cmp.Diff(u["roles"], []any{"searcher", "registrant"}) }},
			{"an org_admin renames itself and takes email notices in English", bank.Token, bank.UserID, map[string]any{"display_name": " 王经理 ", "notify_email": true, "language": "en"},
				func(u map[string]any) string {
					return cmp.Diff([]any{u["display_name"], u["notify_email"], u["language"], u["roles"]}, []any{"王经理", true, "en", []any{"org_admin"}})
				}},
			{"an org_admin gives itself the registrant role", bank.Token, bank.UserID, map[string]any{"roles": []string{"org_admin", "registrant"}},
				func(u map[string]any) string { return cmp.Diff(u["roles"], []any{"org_admin", "registrant"}) }},
			{"the admin makes a registry user an auditor", adminToken, registryAdmin.UserID, map[string]any{"roles": []string{"auditor"}},
				func(u map[string]any) string { return cmp.Diff(u["roles"], []any{"auditor"}) }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				u := e.must(200, patch(tt.token, tt.id, tt.body))
				if diff := tt.check(u); diff != "" {
					t.Errorf("user (-got +want):\n%s", diff)
				}
			})
		}
	})
	t.Run("the new role works at once, with the token the user had", func(t *testing.T) {
		e.must(201, e.do("POST", "/registrations", clerk.Token, filing("上海星辰精密机械有限公司", "91310115MA1K3YJ12G")))
	})
	t.Run("the change is audited with what changed", func(t *testing.T) {
		if n := e.count(`SELECT count(*) FROM audit_entries WHERE action = 'user.update' AND outcome = 'success' AND target = $1 AND user_id = $2
			AND detail = 'roles: searcher → searcher,registrant'`, clerk.UserID, bank.UserID); n != 1 {
			t.Errorf("%d audit entries of the clerk's new role, want 1", n)
		}
		if n := e.count(`SELECT count(*) FROM audit_entries WHERE action = 'user.update' AND target = $1 AND detail LIKE '%display_name: "Test User" → "王经理"%language: zh → en%'`, bank.UserID); n != 1 {
			t.Errorf("%d audit entries of the org_admin's new name and language, want 1", n)
		}
	})
	t.Run("409: an org_admin cannot take org_admin from its organization's last one", func(t *testing.T) {
		p := e.problem(patch(bank.Token, bank.UserID, map[string]any{"roles": []string{"registrant"}}), 409, "conflict")
		if !strings.Contains(p["detail"].(string), "last") {
			t.Errorf("detail %q", p["detail"])
		}
		// With a second one it can; then the second cannot be left alone.
		e.must(200, patch(bank.Token, clerk.UserID, map[string]any{"roles": []string{"org_admin", "registrant"}}))
		e.must(200, patch(bank.Token, bank.UserID, map[string]any{"roles": []string{"registrant", "searcher"}}))
		e.problem(patch(clerk.Token, clerk.UserID, map[string]any{"roles": []string{"registrant"}}), 409, "conflict")
		if n := e.count(`SELECT count(*) FROM audit_entries WHERE action = 'user.update' AND outcome = 'invalid' AND detail LIKE 'conflict:%'`); n != 2 {
			t.Errorf("%d refused updates audited, want 2", n)
		}
	})
	t.Run("403 and 404", func(t *testing.T) {
		tests := []struct {
			name, token, id string
			body            map[string]any
			status          int
			code            string
		}{
			{"a user that is no org_admin", bank.Token, clerk.UserID, map[string]any{"display_name": "X"}, 403, "forbidden"},
			{"an org_admin and another organization's user", other.Token, clerk.UserID, map[string]any{"display_name": "X"}, 404, "not_found"},
			{"an org_admin and a user that does not exist", other.Token, "00000000-0000-7000-8000-000000000000", map[string]any{"display_name": "X"}, 404, "not_found"},
			{"an org_admin cannot give a staff role", registryAdmin.Token, registryAdmin.UserID, map[string]any{"roles": []string{"auditor"}}, 403, "forbidden"},
			{"an org_admin cannot change registry staff", registryAdmin.Token, staffOrg.UserID, map[string]any{"display_name": "X"}, 403, "forbidden"},
		}
		// bank lost org_admin above: it is a registrant now.
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e.problem(patch(tt.token, tt.id, tt.body), tt.status, tt.code)
			})
		}
		e.problem(patch(adminToken, "00000000-0000-7000-8000-000000000000", map[string]any{"display_name": "X"}), 404, "not_found")
	})
	t.Run("422 naming the field", func(t *testing.T) {
		tests := []struct {
			name string
			body map[string]any
			want []string
		}{
			{"no roles", map[string]any{"roles": []string{}}, []string{"roles invalid_field"}},
			{"a role that does not exist", map[string]any{"roles": []string{"searcher", "king"}}, []string{"roles[1] invalid_field"}},
			{"an empty name and an unknown language", map[string]any{"display_name": "  ", "language": "fr"}, []string{"display_name invalid_field", "language invalid_field"}},
			{"a staff role in a customer organization", map[string]any{"roles": []string{"auditor"}}, []string{"roles invalid_field"}},
			{"staff and customer roles together", map[string]any{"roles": []string{"admin", "registrant"}}, []string{"roles invalid_field"}},
			{"nothing to change", map[string]any{}, []string{"roles invalid_field"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := e.problem(patch(adminToken, clerk.UserID, tt.body), 422, "invalid_field")
				if diff := cmp.Diff(fieldErrors(p), tt.want); diff != "" {
					t.Errorf("errors (-got +want):\n%s", diff)
				}
			})
		}
	})
	t.Run("400: unknown fields and wrong types", func(t *testing.T) {
		e.problem(patch(adminToken, clerk.UserID, `{"email":"x@example.cn"}`), 400, "malformed_request")
		e.problem(patch(adminToken, clerk.UserID, `{"roles":"registrant"}`), 400, "malformed_request")
		e.problem(patch(adminToken, clerk.UserID, `{"notify_email":"yes"}`), 400, "malformed_request")
	})
	t.Run("the admin may leave an organization without an org_admin", func(t *testing.T) {
		e.must(200, patch(adminToken, clerk.UserID, map[string]any{"roles": []string{"registrant"}}))
	})
}

// Emails are at a domain name on the internet: a domain literal or an IP
// address in any spelling (which the SMTP relay would deliver inside the
// operator's network) is refused naming the field, at sign-up and for new
// users; a user stored with one before cannot have notices by email.
func TestEmailsMustBeAtADomainName(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.newAccount(usccs[0], "org_admin")
	bad := []string{"v6@[127.0.0.1]", "v6@[ipv6:::1]", "a@127.0.0.1", "a@127.1", "a@2130706433", "a@0x7f.1", "a@0177.0.0.1", "a@localhost",
		"a@10.0.0.1.", "a@[10.0.0.1]"}
	for _, email := range bad {
		p := e.problem(e.do("POST", "/signup", "", signUpBody(freshUSCC(), email)), 422, "invalid_field")
		if got := fieldErrors(p); !slices.Contains(got, "user.email invalid_field") {
			t.Errorf("sign-up with %s: %v", email, got)
		}
		p = e.problem(e.do("POST", "/users", admin.Token, map[string]any{"organization_id": admin.OrgID, "email": email,
			"display_name": "Someone", "roles": []string{"searcher"}, "password": "a long enough password", "notify_email": true}), 422, "invalid_field")
		if got := fieldErrors(p); len(got) != 1 || got[0] != "email invalid_field" {
			t.Errorf("a new user %s: %v", email, got)
		}
	}
	for _, email := range []string{"clerk@bank.example.cn", "a@example.xn--fiqs8s", "a@mail.1and1.com"} {
		e.must(201, e.do("POST", "/users", admin.Token, map[string]any{"organization_id": admin.OrgID, "email": email,
			"display_name": "Someone", "roles": []string{"searcher"}, "password": "a long enough password"}))
	}
	// A user stored with such an address before the rule.
	u := e.must(201, e.do("POST", "/users", admin.Token, map[string]any{"organization_id": admin.OrgID, "email": "old@bank.example.cn",
		"display_name": "Old", "roles": []string{"searcher"}, "password": "a long enough password"}))
	if _, err := e.db.Exec("UPDATE users SET email = 'old@[127.0.0.1]' WHERE id = $1", u["id"]); err != nil {
		t.Fatal(err)
	}
	p := e.problem(e.do("PATCH", "/users/"+u["id"].(string), admin.Token, map[string]any{"notify_email": true}), 422, "invalid_field")
	if got := fieldErrors(p); len(got) != 1 || got[0] != "notify_email invalid_field" {
		t.Errorf("notify_email for old@[127.0.0.1]: %v", got)
	}
	e.must(200, e.do("PATCH", "/users/"+u["id"].(string), admin.Token, map[string]any{"display_name": "Old user"}))
}
