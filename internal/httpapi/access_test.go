package httpapi_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/httpapi"
	"github.com/movable-registry/registry/internal/registry"
)

// Principals of the permission matrix. The first eight present no valid
// credentials; "suspended" belongs to a suspended organization and
// "suspended_user" is a suspended user of an active one; "misplaced_auditor"
// and "misplaced_admin" hold staff roles in a customer organization, as
// data from before the rule could. "outsider" is the org_admin, and no more,
// of an organization that takes no part in the registrations filed here.
var principals = []string{
	"none", "malformed", "revoked", "expired", "suspended", "suspended_user", "misplaced_auditor", "misplaced_admin",
	"registrant", "searcher", "org_admin", "grantor", "stranger", "outsider", "auditor", "admin", "bootstrap",
}

var invalidCredentials = principals[:8]

// world is the matrix's fixture: a bank (the controller of every registration
// filed here, with a registrant, a searcher and an org_admin), the grantor
// enterprise, a stranger organization whose one user holds every enterprise
// role, an outsider organization whose one user is its org_admin only, and
// the registry's own staff.
type world struct {
	e      *env
	tokens map[string]string
	bank   account // the bank's registrant
	bankAdmin,
	searcher,
	grantor account
}

func newWorld(t *testing.T) *world {
	e := newEnvWith(t, func(c *registry.Config) { c.ExtensionWindowDays = 0 })
	w := &world{e: e, tokens: map[string]string{"malformed": "rgt_not-a-token", "bootstrap": adminToken}}
	// The expired token is issued first; the clock then moves past its life.
	expiring := e.newAccount(freshUSCC(), "registrant", "searcher", "org_admin")
	w.tokens["expired"] = expiring.Token
	e.clock.Advance(31 * 24 * time.Hour)

	w.bank = e.newAccount(usccs[0], "registrant")
	w.tokens["registrant"] = w.bank.Token
	w.searcher = e.newUser(w.bank.OrgID, usccs[0], "searcher")
	w.tokens["searcher"] = w.searcher.Token
	w.bankAdmin = e.newUser(w.bank.OrgID, usccs[0], "org_admin")
	w.tokens["org_admin"] = w.bankAdmin.Token
	w.grantor = e.newAccount(usccs[1], "registrant")
	w.tokens["grantor"] = w.grantor.Token
	w.tokens["stranger"] = e.newAccount(usccs[2], "registrant", "searcher", "org_admin").Token
	w.tokens["outsider"] = e.newAccount(freshUSCC(), "org_admin").Token

	staff := e.must(201, e.do("POST", "/organizations", adminToken, map[string]any{"name": "登记机构", "uscc": usccs[3], "kind": "registry"}))
	w.tokens["auditor"] = e.newUser(staff["id"].(string), usccs[3], "auditor").Token
	w.tokens["admin"] = e.newUser(staff["id"].(string), usccs[3], "admin").Token

	revoked := e.newUser(w.bank.OrgID, usccs[0], "registrant", "searcher", "org_admin")
	w.tokens["revoked"] = revoked.Token
	tok := e.must(200, e.do("GET", "/tokens", revoked.Token, nil))
	e.must(204, e.do("DELETE", "/tokens/"+list(tok["items"])[0].(map[string]any)["id"].(string), revoked.Token, nil))

	gone := e.newUser(w.bank.OrgID, usccs[0], "registrant", "searcher", "org_admin")
	w.tokens["suspended_user"] = gone.Token
	e.must(201, e.do("POST", "/users/"+gone.UserID+"/suspension", adminToken, nil))

	// Staff roles given in a customer organization before the rule: the
	// API refuses to make such a user now, so the data is written directly.
	for _, role := range []string{"auditor", "admin"} {
		u := e.newUser(w.bank.OrgID, usccs[0], "searcher")
		if _, err := e.db.Exec("UPDATE users SET roles = ARRAY[$1] WHERE id = $2", role, u.UserID); err != nil {
			t.Fatal(err)
		}
		w.tokens["misplaced_"+role] = u.Token
	}

	susp := e.newAccount(usccs[4], "registrant", "searcher", "org_admin")
	w.tokens["suspended"] = susp.Token
	e.must(201, e.do("POST", "/organizations/"+susp.OrgID+"/suspension", adminToken, nil))
	return w
}

// file files a fresh registration with the bank as controller and the
// grantor enterprise as grantor.
func (w *world) file() string {
	return w.e.must(201, w.e.do("POST", "/registrations", w.bank.Token, filing("上海星辰精密机械有限公司", usccs[1])))["number"].(string)
}

// objection files the grantor's objection to a fresh registration.
func (w *world) objection() (registration, objection string) {
	n := w.file()
	o := w.e.must(201, w.e.do("POST", "/registrations/"+n+"/objections", w.grantor.Token, map[string]any{"statement": "我司从未设立此项担保。"}))
	return n, o["number"].(string)
}

// bankUser adds a user to the bank; suspended says whether it starts suspended.
func (w *world) bankUser(suspended bool) string {
	u := w.e.newUser(w.bank.OrgID, usccs[0], "searcher")
	if suspended {
		w.e.must(201, w.e.do("POST", "/users/"+u.UserID+"/suspension", adminToken, nil))
	}
	return u.UserID
}

func (w *world) signUp() map[string]any {
	return w.e.must(201, w.e.do("POST", "/signup", "", map[string]any{
		"organization": map[string]any{"name": "新开户企业", "uscc": freshUSCC(), "kind": "enterprise"},
		"user":         map[string]any{"email": fmt.Sprintf("new-%d@example.cn", time.Now().UnixNano()), "display_name": "甲", "password": "a long enough password"},
	}))
}

// succession makes an organization, with no registrations, for the bank to
// succeed: each call a new one, so that no succession of it is running.
func (w *world) succession() string {
	o := w.e.must(201, w.e.do("POST", "/organizations", adminToken, map[string]any{"name": "被合并公司", "uscc": freshUSCC(), "kind": "enterprise"}))
	return o["id"].(string)
}

// call is one request of the matrix, made fresh for each principal.
type call struct {
	path string
	body any
}

// rule is what each principal gets from a route: ok for those allowed, 403
// for every other principal with valid credentials, 401 for the rest (except
// on public routes, where nobody's credentials are looked at).
type rule struct {
	make    func(w *world) call
	ok      int
	allowed string // space-separated principals, or "*" for every valid one
	public  bool
	// path, when set, is requested after make has prepared the register.
	path string
	// denied is what the others get (403 when 0): 404 for what belongs to
	// one organization, which others are not told exists.
	denied int
	// except names principals that get another status than the rule's.
	except map[string]int
}

func (r rule) want(who string) int {
	invalid := slices.Contains(invalidCredentials, who)
	switch {
	case r.public:
		return r.ok
	case r.except[who] != 0:
		return r.except[who]
	case invalid:
		return 401
	case r.allowed == "*" || slices.Contains(strings.Fields(r.allowed), who):
		return r.ok
	case r.denied != 0:
		return r.denied
	}
	return 403
}

// TestPermissionMatrix sends every route of the API as every principal and
// checks the status each gets. The expectations are written out here, not
// taken from the permission table, and a route missing here fails the test.
func TestPermissionMatrix(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	reg := func(suffix string, body any) func(w *world) call {
		return func(w *world) call { return call{"/registrations/" + w.file() + suffix, body} }
	}
	objection := func(suffix string, body any) func(w *world) call {
		return func(w *world) call {
			n, o := w.objection()
			return call{"/registrations/" + n + "/objections/" + o + suffix, body}
		}
	}
	// A draft of the bank's registrant, complete enough to be filed.
	draft := func(suffix string, body any) func(w *world) call {
		return func(w *world) call {
			d := w.e.must(201, w.e.do("POST", "/drafts", w.tokens["registrant"], filing("某机械有限公司", usccs[5])))
			return call{"/drafts/" + d["id"].(string) + suffix, body}
		}
	}
	rules := map[string]rule{
		"POST /signup": {ok: 201, public: true, make: func(w *world) call {
			return call{"/signup", map[string]any{
				"organization": map[string]any{"name": "新开户企业", "uscc": freshUSCC(), "kind": "enterprise"},
				"user":         map[string]any{"email": fmt.Sprintf("m-%d@example.cn", time.Now().UnixNano()), "display_name": "甲", "password": "a long enough password"},
			}}
		}},
		"POST /organizations": {ok: 201, allowed: "admin bootstrap", make: func(w *world) call {
			return call{"/organizations", map[string]any{"name": "某公司", "uscc": freshUSCC(), "kind": "enterprise"}}
		}},
		"GET /organizations": {ok: 200, allowed: "admin auditor bootstrap", make: func(*world) call { return call{"/organizations?status=pending", nil} }},
		"POST /organizations/:id/approval": {ok: 201, allowed: "admin bootstrap", make: func(w *world) call {
			return call{"/organizations/" + w.signUp()["organization"].(map[string]any)["id"].(string) + "/approval", nil}
		}},
		// A wrong password for an unknown email: 401 for everyone alike,
		// since the route looks at no token.
		"POST /password": {ok: 401, public: true, make: func(*world) call {
			return call{"/password", map[string]any{"email": fmt.Sprintf("nobody-%d@example.cn", time.Now().UnixNano()), "password": "not the password", "new_password": "a new long password"}}
		}},
		"POST /organizations/:id/rejection": {ok: 201, allowed: "admin bootstrap", make: func(w *world) call {
			return call{"/organizations/" + w.signUp()["organization"].(map[string]any)["id"].(string) + "/rejection", map[string]any{"note": "未能核实"}}
		}},
		"POST /organizations/:id/suspension": {ok: 201, allowed: "admin bootstrap", make: func(w *world) call {
			o := w.e.must(201, w.e.do("POST", "/organizations", adminToken, map[string]any{"name": "某公司", "uscc": freshUSCC(), "kind": "enterprise"}))
			return call{"/organizations/" + o["id"].(string) + "/suspension", nil}
		}},
		"POST /users": {ok: 201, allowed: "admin bootstrap org_admin", make: func(w *world) call {
			return call{"/users", map[string]any{"organization_id": w.bank.OrgID, "email": fmt.Sprintf("u-%d@example.cn", time.Now().UnixNano()), "display_name": "乙", "roles": []string{"searcher"}}}
		}},
		"GET /users": {ok: 200, allowed: "admin auditor bootstrap org_admin", make: func(w *world) call { return call{"/users?organization_id=" + w.bank.OrgID, nil} }},
		// Another organization's org_admin is told nothing of the user.
		"PATCH /users/:id": {ok: 200, allowed: "admin bootstrap org_admin", except: map[string]int{"stranger": 404, "outsider": 404}, make: func(w *world) call {
			return call{"/users/" + w.bankUser(false), map[string]any{"display_name": "丙", "roles": []string{"searcher", "registrant"}}}
		}},
		"POST /users/:id/suspension": {ok: 201, allowed: "admin bootstrap org_admin", make: func(w *world) call {
			return call{"/users/" + w.bankUser(false) + "/suspension", nil}
		}},
		"POST /users/:id/reinstatement": {ok: 201, allowed: "admin bootstrap org_admin", make: func(w *world) call {
			return call{"/users/" + w.bankUser(true) + "/reinstatement", nil}
		}},
		// Anyone may sign in; this row is the other form, a token for a user by id.
		"POST /tokens": {ok: 201, allowed: "admin bootstrap org_admin", make: func(w *world) call {
			return call{"/tokens", map[string]any{"user_id": w.bank.UserID}}
		}},
		"GET /tokens": {ok: 200, allowed: "registrant org_admin admin bootstrap", make: func(w *world) call { return call{"/tokens?user_id=" + w.bank.UserID, nil} }},
		"DELETE /tokens/:id": {ok: 204, allowed: "registrant org_admin admin bootstrap", make: func(w *world) call {
			w.e.must(201, w.e.do("POST", "/tokens", adminToken, map[string]any{"user_id": w.bank.UserID}))
			items := list(w.e.must(200, w.e.do("GET", "/tokens?user_id="+w.bank.UserID, adminToken, nil))["items"])
			// The newest token: ids are in order of creation.
			return call{"/tokens/" + items[len(items)-1].(map[string]any)["id"].(string), nil}
		}},
		"GET /me":             {ok: 200, allowed: "*", make: func(*world) call { return call{"/me", nil} }},
		"POST /registrations": {ok: 201, allowed: "registrant grantor stranger", make: func(*world) call { return call{"/registrations", filing("某机械有限公司", usccs[5])} }},
		"POST /registrations/batch": {ok: 200, allowed: "registrant grantor stranger", make: func(*world) call {
			return call{"/registrations/batch", map[string]any{"filings": []any{filing("某机械有限公司", usccs[5])}}}
		}},
		"GET /registrations": {ok: 200, allowed: "registrant grantor stranger", make: func(*world) call { return call{"/registrations?controller=mine", nil} }},
		// Whose registration it is, each change's row says (200 with a 403
		// in it for one who does not control it).
		"POST /registrations/changes": {ok: 200, allowed: "registrant grantor stranger", make: func(w *world) call {
			return call{"/registrations/changes", map[string]any{"changes": []any{map[string]any{"number": w.file(), "cancellation": map[string]any{"reason": "other"}}}}}
		}},
		"POST /organizations/:id/succession": {ok: 202, allowed: "admin bootstrap", make: func(w *world) call {
			return call{"/organizations/" + w.succession() + "/succession", map[string]any{"successor_uscc": w.bank.OrgUSCC, "basis": "merger", "document_number": "沪市监合〔2026〕1号"}}
		}},
		"GET /successions/:id": {ok: 200, allowed: "admin auditor bootstrap", make: func(w *world) call {
			s := w.e.must(202, w.e.do("POST", "/organizations/"+w.succession()+"/succession", adminToken,
				map[string]any{"successor_uscc": w.bank.OrgUSCC, "basis": "division", "document_number": "沪市监分〔2026〕2号"}))
			return call{"/successions/" + s["id"].(string), nil}
		}},
		// Reading a registration one is not a party to is searching the
		// register: the outsider, with no searcher role, is refused.
		"GET /registrations/:number/certificate.pdf":    {ok: 200, allowed: "*", except: map[string]int{"outsider": 403}, make: reg("/certificate.pdf", nil)},
		"GET /registrations/:number":                    {ok: 200, allowed: "*", except: map[string]int{"outsider": 403}, make: reg("", nil)},
		"POST /registrations/:number/amendments":        {ok: 201, allowed: "registrant", make: reg("/amendments", map[string]any{"description": "补充: 另有备件一批", "note": "补充"})},
		"POST /registrations/:number/extensions":        {ok: 201, allowed: "registrant", make: reg("/extensions", map[string]any{"period_months": 12})},
		"POST /registrations/:number/cancellation":      {ok: 201, allowed: "registrant", make: reg("/cancellation", map[string]any{"reason": "debt_repaid"})},
		"POST /registrations/:number/modification-code": {ok: 201, allowed: "registrant", make: reg("/modification-code", nil)},
		// The grantor objects as a grantor; the others state an interest. The
		// secured party (the bank, its controller) does not object to its
		// own registration: it amends or cancels it.
		"POST /registrations/:number/objections":                       {ok: 201, allowed: "grantor stranger", make: reg("/objections", map[string]any{"statement": "异议", "interest": "我方对该设备享有所有权"})},
		"POST /registrations/:number/objections/:objection/withdrawal": {ok: 201, allowed: "grantor", make: objection("/withdrawal", nil)},
		"POST /registrations/:number/objections/:objection/case-notice": {ok: 201, allowed: "grantor", make: objection("/case-notice", map[string]any{
			"court": "上海市浦东新区人民法院", "case_number": "(2026)沪0115民初1号", "accepted_on": time.Now().In(registry.Shanghai).AddDate(0, 0, 30).Format(time.DateOnly)})},
		"POST /registrations/:number/revocation": {ok: 201, allowed: "admin bootstrap", make: reg("/revocation", map[string]any{"authority": "上海市浦东新区人民法院", "document_number": "(2026)沪0115民初2号"})},
		"GET /notifications":                     {ok: 200, allowed: "*", make: func(*world) call { return call{"/notifications?unread=true", nil} }},
		// A filing names the grantor: its notice is its own to mark.
		"POST /notifications/:id/read": {ok: 204, allowed: "grantor", denied: 404, make: func(w *world) call {
			w.file()
			items := list(w.e.must(200, w.e.do("GET", "/notifications?limit=1", w.grantor.Token, nil))["items"])
			return call{"/notifications/" + items[0].(map[string]any)["id"].(string) + "/read", nil}
		}},
		"POST /watches": {ok: 201, allowed: "searcher stranger", make: func(*world) call {
			return call{"/watches", map[string]any{"criteria": map[string]any{"serial_number": fmt.Sprintf("W-%d", time.Now().UnixNano())}}}
		}},
		"GET /watches": {ok: 200, allowed: "*", make: func(*world) call { return call{"/watches", nil} }},
		// A watch is its organization's (the bank's, here) to end.
		"DELETE /watches/:id": {ok: 204, allowed: "registrant searcher org_admin", denied: 404, make: func(w *world) call {
			made := w.e.must(201, w.e.do("POST", "/watches", w.searcher.Token, map[string]any{"criteria": map[string]any{"serial_number": fmt.Sprintf("W-%d", time.Now().UnixNano())}}))
			return call{"/watches/" + made["id"].(string), nil}
		}},
		"POST /webhooks": {ok: 201, allowed: "org_admin stranger outsider", make: func(w *world) call {
			if _, err := w.e.db.Exec("DELETE FROM webhooks"); err != nil {
				w.e.t.Fatal(err)
			}
			return call{"/webhooks", map[string]any{"url": "http://127.0.0.1:9/notices", "secret": "a webhook secret of enough length"}}
		}},
		"GET /webhooks": {ok: 200, allowed: "org_admin stranger outsider", make: func(*world) call { return call{"/webhooks", nil} }},
		// Another organization's org_admin (the stranger) is told nothing is there.
		"DELETE /webhooks/:id": {ok: 204, allowed: "org_admin", except: map[string]int{"stranger": 404, "outsider": 404}, make: func(w *world) call {
			// Within the allowance of ten, whoever asked before.
			if _, err := w.e.db.Exec("DELETE FROM webhooks"); err != nil {
				w.e.t.Fatal(err)
			}
			made := w.e.must(201, w.e.do("POST", "/webhooks", w.tokens["org_admin"], map[string]any{"url": "http://127.0.0.1:9/notices", "secret": "a webhook secret of enough length"}))
			return call{"/webhooks/" + made["id"].(string), nil}
		}},
		"GET /webhooks/:id/deliveries": {ok: 200, allowed: "org_admin", except: map[string]int{"stranger": 404, "outsider": 404}, make: func(w *world) call {
			if _, err := w.e.db.Exec("DELETE FROM webhooks"); err != nil {
				w.e.t.Fatal(err)
			}
			made := w.e.must(201, w.e.do("POST", "/webhooks", w.tokens["org_admin"], map[string]any{"url": "http://127.0.0.1:9/notices", "secret": "a webhook secret of enough length"}))
			return call{"/webhooks/" + made["id"].(string) + "/deliveries", nil}
		}},
		"POST /drafts": {ok: 201, allowed: "registrant grantor stranger", make: func(*world) call { return call{"/drafts", map[string]any{"kind": "chattel_mortgage"}} }},
		"GET /drafts":  {ok: 200, allowed: "registrant grantor stranger", make: func(*world) call { return call{"/drafts", nil} }},
		// A draft is its organization's: another's registrants are told nothing is there.
		"GET /drafts/:id":         {ok: 200, allowed: "registrant", except: map[string]int{"grantor": 404, "stranger": 404}, make: draft("", nil)},
		"PUT /drafts/:id":         {ok: 200, allowed: "registrant", except: map[string]int{"grantor": 404, "stranger": 404}, make: draft("", map[string]any{"kind": "lease"})},
		"DELETE /drafts/:id":      {ok: 204, allowed: "registrant", except: map[string]int{"grantor": 404, "stranger": 404}, make: draft("", nil)},
		"POST /drafts/:id/filing": {ok: 201, allowed: "registrant", except: map[string]int{"grantor": 404, "stranger": 404}, make: draft("/filing", nil)},
		"POST /attachments":       {ok: 201, allowed: "registrant grantor stranger", make: func(*world) call { return call{"/attachments", csvUpload} }},
		"GET /attachments/:id": {ok: 200, allowed: "*", make: func(w *world) call {
			return call{"/attachments/" + w.e.attach(w.tokens["registrant"], []byte("a,b\n1,2\n"))["id"].(string), nil}
		}},
		"POST /parties": {ok: 201, allowed: "registrant grantor stranger", make: func(*world) call {
			return call{"/parties", map[string]any{"label": "本行", "party": map[string]any{"type": "organization", "name": "某银行", "uscc": usccs[0], "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"}}}
		}},
		"GET /parties": {ok: 200, allowed: "registrant grantor stranger", make: func(*world) call { return call{"/parties?q=银行", nil} }},
		"DELETE /parties/:id": {ok: 204, allowed: "registrant", except: map[string]int{"grantor": 404, "stranger": 404}, make: func(w *world) call {
			made := w.e.must(201, w.e.do("POST", "/parties", w.tokens["registrant"], map[string]any{"label": "本行", "party": map[string]any{"type": "organization", "name": "某银行", "uscc": usccs[0], "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"}}))
			return call{"/parties/" + made["id"].(string), nil}
		}},
		"GET /searches": {ok: 200, allowed: "searcher auditor stranger", make: func(*world) call { return call{"/searches?mine=true", nil} }},
		"POST /searches": {ok: 201, allowed: "searcher stranger", make: func(*world) call {
			return call{"/searches", map[string]any{"criteria": map[string]any{"uscc": usccs[1]}}}
		}},
		// A stored search is the searcher's organization's, and the auditors'.
		"GET /searches/:number": {ok: 200, allowed: "searcher auditor", make: func(w *world) call {
			s := w.e.must(201, w.e.do("POST", "/searches", w.searcher.Token, map[string]any{"criteria": map[string]any{"uscc": usccs[1]}}))
			return call{"/searches/" + s["number"].(string), nil}
		}},
		"GET /searches/:number/certificate.pdf": {ok: 200, allowed: "searcher auditor", make: func(w *world) call {
			s := w.e.must(201, w.e.do("POST", "/searches", w.searcher.Token, map[string]any{"criteria": map[string]any{"uscc": usccs[1]}}))
			return call{"/searches/" + s["number"].(string) + "/certificate.pdf", nil}
		}},
		"GET /searches/:number/results": {ok: 200, allowed: "searcher auditor", make: func(w *world) call {
			s := w.e.must(201, w.e.do("POST", "/searches", w.searcher.Token, map[string]any{"criteria": map[string]any{"uscc": usccs[1]}}))
			return call{"/searches/" + s["number"].(string) + "/results", nil}
		}},
		// Anyone without a token; a token sent is checked (staff see exact
		// search counts), so a bad one is 401.
		"GET /statistics":           {ok: 200, allowed: "*", except: map[string]int{"none": 200}, make: func(*world) call { return call{"/statistics?by=kind", nil} }},
		"GET /certificates/:number": {ok: 200, public: true, make: reg("", nil)},
		"GET /audit":                {ok: 200, allowed: "auditor admin bootstrap", make: func(*world) call { return call{"/audit?limit=5", nil} }},
		"GET /audit/export":         {ok: 200, allowed: "auditor admin bootstrap", make: func(*world) call { return call{"/audit/export?action=registration.file", nil} }},
		"GET /log/checkpoint":       {ok: 200, public: true, make: func(*world) call { return call{"/log/checkpoint", nil} }},
		// A filing's event is its filer's, its parties' and the staff's to check.
		"GET /log/events/:number": {ok: 200, allowed: "registrant searcher org_admin grantor auditor admin bootstrap", denied: 404, make: func(w *world) call {
			return call{"/log/events/" + w.file(), nil}
		}},
		// A log event read publishes a checkpoint that covers the filing.
		"GET /log/tile/:level/*path": {ok: 200, public: true, make: func(w *world) call {
			w.e.must(200, w.e.do("GET", "/log/events/"+w.file(), w.tokens["registrant"], nil))
			return call{"/log/tile/0/000.p/1", nil}
		}},
		"GET /log/tile/entries/*path": {ok: 200, allowed: "auditor admin bootstrap", make: func(w *world) call {
			w.e.must(200, w.e.do("GET", "/log/events/"+w.file(), w.tokens["registrant"], nil))
			return call{"/log/tile/entries/000.p/1", nil}
		}},
		"GET /log/key":             {ok: 200, public: true, make: func(*world) call { return call{"/log/key", nil} }},
		"GET /log/entries":         {ok: 200, allowed: "auditor admin bootstrap", make: reg("", nil), path: "/log/entries?from=0&to=1"},
		"GET /log/columns":         {ok: 200, allowed: "auditor admin bootstrap", make: reg("", nil), path: "/log/columns?from=0&to=1"},
		"GET /log/state":           {ok: 200, allowed: "auditor admin bootstrap", make: reg("", nil), path: "/log/state?size=1"},
		"GET /log/proof/inclusion": {ok: 200, allowed: "*", make: reg("", nil), path: "/log/proof/inclusion?index=0&size=1"},
		"GET /log/proof/consistency": {ok: 200, allowed: "*", make: func(w *world) call {
			w.file()
			w.file()
			return call{"/log/proof/consistency?from=1&to=2", nil}
		}},
	}
	for _, key := range httpapi.RouteKeys() {
		if _, ok := rules[key]; !ok {
			t.Errorf("%s has no row in the permission matrix", key)
		}
	}
	for key, r := range rules {
		if !slices.Contains(httpapi.RouteKeys(), key) {
			t.Errorf("the matrix has a row for %s, which is not a route", key)
		}
		method, _, _ := strings.Cut(key, " ")
		t.Run(key, func(t *testing.T) {
			// A fixture serves principals until a call changes it: a read
			// changes nothing, nor does a refusal of a route that looks at
			// credentials (a public route's answer, a wrong password say,
			// can count against what it names, so it gets a fresh one).
			var c call
			fresh := true
			for _, who := range principals {
				if fresh {
					c = r.make(w)
				}
				want := r.want(who)
				fresh = method != "GET" && (r.public || want < 400)
				path, body := c.path, c.body
				if r.path != "" {
					path, body = r.path, nil
				}
				if strings.HasPrefix(key, "GET /certificates") {
					path = strings.Replace(path, "/registrations/", "/certificates/", 1)
				}
				got := w.e.do(method, path, w.tokens[who], body)
				if got.Status != want {
					t.Errorf("%s: status %d, want %d: %s", who, got.Status, want, got.Body)
				}
			}
		})
	}
}
