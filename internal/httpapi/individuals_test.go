package httpapi_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/registry"
)

// personID is the identity number of the individual who signs up in these
// tests (GB 11643-1999, check character X).
const personID = "11010519491231002X"

// individualSignUp is a sign-up body of an individual's account.
func individualSignUp(idNumber, email string) map[string]any {
	return map[string]any{
		"organization": map[string]any{"kind": "individual", "name": "张三", "id_number": idNumber, "address": "北京市朝阳区建国路1号"},
		"user":         map[string]any{"email": email, "display_name": "张三", "password": "a long enough password"},
	}
}

// individualGrantor is a filing whose one grantor is the individual with
// idNumber.
func individualGrantor(idNumber string) map[string]any {
	f := filing("", "")
	f["grantors"] = []any{map[string]any{"type": "individual", "name": "张三", "id_number": idNumber, "address": "北京市朝阳区建国路1号"}}
	return f
}

func TestIndividualAccounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	other := e.newAccount(usccs[1], "searcher")

	t.Run("bad sign-ups name the field", func(t *testing.T) {
		for _, tt := range []struct {
			name  string
			org   map[string]any
			want  string
			roles []string
		}{
			{"wrong check character", map[string]any{"kind": "individual", "name": "张三", "id_number": "110101199003071234", "address": "北京"}, "organization.id_number invalid_id_number", nil},
			{"no identity number", map[string]any{"kind": "individual", "name": "张三", "address": "北京"}, "organization.id_number invalid_field", nil},
			{"no address", map[string]any{"kind": "individual", "name": "张三", "id_number": personID}, "organization.address invalid_field", nil},
			{"a USCC besides", map[string]any{"kind": "individual", "name": "张三", "id_number": personID, "address": "北京", "uscc": usccs[2]}, "organization.uscc invalid_field", nil},
			{"an organization with an identity number", map[string]any{"kind": "enterprise", "name": "某公司", "uscc": freshUSCC(), "id_number": personID}, "organization.id_number invalid_field", nil},
			{"registrant asked for", map[string]any{"kind": "individual", "name": "张三", "id_number": personID, "address": "北京"}, "user.roles invalid_field", []string{"org_admin", "registrant"}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				body := map[string]any{"organization": tt.org, "user": map[string]any{"email": "bad@example.cn", "display_name": "张三", "password": "a long enough password"}}
				if tt.roles != nil {
					body["user"].(map[string]any)["roles"] = tt.roles
				}
				p := e.problem(e.do("POST", "/signup", "", body), 422, fieldCode(tt.want))
				if got := fieldErrors(p); !slices.Contains(got, tt.want) {
					t.Errorf("errors %v, want %q among them", got, tt.want)
				}
			})
		}
	})

	// The lower-case x is taken as X.
	up := e.must(201, e.do("POST", "/signup", "", individualSignUp("11010519491231002x", "zhangsan@example.cn")))
	org, user := up["organization"].(map[string]any), up["user"].(map[string]any)
	if org["kind"] != "individual" || org["id_number"] != personID || org["uscc"] != "" || org["status"] != "pending" || org["address"] != "北京市朝阳区建国路1号" {
		t.Fatalf("organization = %v", org)
	}
	if got := user["roles"]; !slices.Equal(stringList(got), []string{"org_admin", "searcher"}) {
		t.Errorf("roles = %v, want org_admin and searcher: an individual files no registrations", got)
	}
	id := org["id"].(string)

	t.Run("the same identity number again is 409 naming the field", func(t *testing.T) {
		p := e.problem(e.do("POST", "/signup", "", individualSignUp(personID, "again@example.cn")), 409, "conflict")
		if got := fieldErrors(p); !slices.Equal(got, []string{"organization.id_number conflict"}) {
			t.Errorf("errors = %v", got)
		}
	})
	t.Run("an admin cannot make an individual's account", func(t *testing.T) {
		p := e.problem(e.do("POST", "/organizations", adminToken, map[string]any{"name": "李四", "kind": "individual", "uscc": ""}), 422, "invalid_field")
		if got := fieldErrors(p); !slices.Equal(got, []string{"kind invalid_field"}) {
			t.Errorf("errors = %v", got)
		}
	})

	signIn := map[string]any{"email": "zhangsan@example.cn", "password": "a long enough password"}
	e.problem(e.do("POST", "/tokens", "", signIn), 403, "organization_pending")
	e.must(201, e.do("POST", "/organizations/"+id+"/approval", adminToken, nil))
	listed := e.must(200, e.do("GET", "/organizations?status=active", adminToken, nil))
	found := false
	for _, x := range listed["items"].([]any) {
		o := x.(map[string]any)
		if o["id"] == id {
			found = o["id_number"] == personID && o["kind"] == "individual"
		}
	}
	if !found {
		t.Errorf("GET /organizations does not show the individual with its whole number: %v", listed)
	}
	person := e.must(201, e.do("POST", "/tokens", "", signIn))["token"].(string)

	me := e.must(200, e.do("GET", "/me", person, nil))
	if o := me["organization"].(map[string]any); o["id_number"] != personID {
		t.Errorf("GET /me organization = %v", o)
	}

	named := e.must(201, e.do("POST", "/registrations", bank.Token, individualGrantor(personID)))["number"].(string)
	stranger := e.must(201, e.do("POST", "/registrations", bank.Token, individualGrantor("110101199003071233")))["number"].(string)

	grantorID := func(reg map[string]any) any {
		return reg["grantors"].([]any)[0].(map[string]any)["id_number"]
	}
	t.Run("it searches by its own number and sees it whole; others see it masked", func(t *testing.T) {
		s := e.must(201, e.do("POST", "/searches", person, map[string]any{"criteria": map[string]any{"id_number": personID}}))
		res := s["results"].([]any)
		if len(res) != 1 {
			t.Fatalf("results = %v", res)
		}
		reg := res[0].(map[string]any)["registration"].(map[string]any)
		if reg["number"] != named || grantorID(reg) != personID {
			t.Errorf("the individual's own search shows %v for %v", grantorID(reg), reg["number"])
		}
		s = e.must(201, e.do("POST", "/searches", other.Token, map[string]any{"criteria": map[string]any{"id_number": personID}}))
		reg = s["results"].([]any)[0].(map[string]any)["registration"].(map[string]any)
		if grantorID(reg) != "110105************" {
			t.Errorf("another organization's search shows %v", grantorID(reg))
		}
		if got := grantorID(e.must(200, e.do("GET", "/registrations/"+named, person, nil))); got != personID {
			t.Errorf("GET by the individual shows %v", got)
		}
		if got := grantorID(e.must(200, e.do("GET", "/registrations/"+named, other.Token, nil))); got != "110105************" {
			t.Errorf("GET by another organization shows %v", got)
		}
		if got := grantorID(e.must(200, e.do("GET", "/registrations/"+stranger, person, nil))); got != "110101************" {
			t.Errorf("GET of someone else's registration by the individual shows %v", got)
		}
	})
	t.Run("its searches count for the province of its identity number", func(t *testing.T) {
		// An individual has no USCC: its searches are placed, as its
		// organization's would be, by the region its number begins with
		// (11, Beijing), not counted as a searcher's from nowhere.
		auditor := e.newAccount(usccs[3], "auditor")
		month := time.Now().In(registry.Shanghai).Format("2006-01")
		rows := map[string]any{}
		for _, r := range list(e.must(200, e.do("GET", "/statistics?by=province&from="+month+"&to="+month, auditor.Token, nil))["rows"]) {
			r := r.(map[string]any)
			rows[str(r["province"])] = r["searches"]
		}
		if rows["11"] != float64(1) {
			t.Errorf("searches by province = %v: the individual's search is not Beijing's", rows)
		}
	})
	t.Run("it is told of a registration that names it, as an organization is", func(t *testing.T) {
		// Notices are stored with their event, and the filing answered
		// after: they are there already.
		var filed []string
		for _, n := range list(e.must(200, e.do("GET", "/notifications", person, nil))["items"]) {
			if n := n.(map[string]any); n["kind"] == "registration_filed" {
				filed = append(filed, n["registration_number"].(string))
			}
		}
		if !slices.Equal(filed, []string{named}) {
			t.Errorf("the individual's filing notices name %v, want only %s", filed, named)
		}
	})
	t.Run("it objects as a grantor, and needs an interest elsewhere", func(t *testing.T) {
		o := e.must(201, e.do("POST", "/registrations/"+named+"/objections", person, map[string]any{"statement": "我从未设立此项担保。"}))
		if o["status"] != "active" || o["by"].(map[string]any)["organization_id"] != id {
			t.Errorf("objection = %v", o)
		}
		p := e.problem(e.do("POST", "/registrations/"+stranger+"/objections", person, map[string]any{"statement": "异议"}), 422, "invalid_field")
		if got := fieldErrors(p); !slices.Equal(got, []string{"interest invalid_field"}) {
			t.Errorf("errors = %v", got)
		}
		e.must(201, e.do("POST", "/registrations/"+stranger+"/objections", person, map[string]any{"statement": "异议", "interest": "该设备为本人所有"}))
		w := e.must(201, e.do("POST", "/registrations/"+named+"/objections/"+o["number"].(string)+"/withdrawal", person, nil))
		if w["status"] != "withdrawn" {
			t.Errorf("withdrawal = %v", w)
		}
		// A searcher of an organization is no objector.
		e.problem(e.do("POST", "/registrations/"+named+"/objections", other.Token, map[string]any{"statement": "异议", "interest": "x"}), 403, "forbidden")
	})
	t.Run("it files nothing and cannot give itself registrant", func(t *testing.T) {
		p := e.problem(e.do("POST", "/registrations", person, individualGrantor(personID)), 403, "forbidden")
		if detail, _ := p["detail"].(string); !strings.Contains(detail, "not file or change registrations") {
			t.Errorf("the refusal to file does not say why: %v", p)
		}
		p = e.problem(e.do("PATCH", "/users/"+user["id"].(string), person, map[string]any{"roles": []string{"org_admin", "searcher", "registrant"}}), 422, "invalid_field")
		if got := fieldErrors(p); !slices.Equal(got, []string{"roles invalid_field"}) {
			t.Errorf("errors = %v", got)
		}
	})
	t.Run("it is the person alone: nobody adds, lists or suspends its users", func(t *testing.T) {
		// Not the person, nor an administrator: whoever was added would
		// read the person's identity number whole.
		for _, token := range []string{person, adminToken} {
			p := e.problem(e.do("POST", "/users", token, map[string]any{"organization_id": id, "email": "agent@example.cn", "display_name": "代理人",
				"roles": []string{"searcher"}, "password": "a long enough password"}), 403, "forbidden")
			if detail, _ := p["detail"].(string); !strings.Contains(detail, "the person alone") {
				t.Errorf("the refusal to add a user does not say why: %v", p)
			}
		}
		e.problem(e.do("GET", "/users", person, nil), 403, "forbidden")
		e.problem(e.do("POST", "/users/"+user["id"].(string)+"/suspension", person, nil), 403, "forbidden")
		if users := list(e.must(200, e.do("GET", "/users?organization_id="+id, adminToken, nil))["items"]); len(users) != 1 {
			t.Errorf("the individual's account has %d users", len(users))
		}
		// Its own account it changes, its roles kept.
		u := e.must(200, e.do("PATCH", "/users/"+user["id"].(string), person, map[string]any{"language": "en"}))
		if u["language"] != "en" || !slices.Equal(stringList(u["roles"]), []string{"org_admin", "searcher"}) {
			t.Errorf("the person's own change: %v", u)
		}
	})
}

// fieldCode is the problem's code for one expected "field code" error.
func fieldCode(fieldAndCode string) string {
	for i := len(fieldAndCode) - 1; i >= 0; i-- {
		if fieldAndCode[i] == ' ' {
			return fieldAndCode[i+1:]
		}
	}
	return fieldAndCode
}

// stringList lists a JSON array of strings.
func stringList(v any) []string {
	var out []string
	xs, _ := v.([]any)
	for _, x := range xs {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
