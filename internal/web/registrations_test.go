package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A registration's page carries every change its controller may make; each
// goes through the service and shows its notice, or its refusal beside the
// form.
func TestTheControllerChangesARegistrationOnItsPage(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	id, code := s.org("上海星辰银行", "financial_institution")
	bank := s.user(id, code, "registrant", "searcher")
	number := s.file(bank, "上海星辰精密机械有限公司", uscc("91310115MA1K3YJ1X"))
	b := s.browser()
	b.signIn(bank)

	b.get("/registrations/" + number)
	res := b.post("/registrations/"+number+"/amendment", url.Values{"version": {"1"}, "description_was": {"存货：钢材 500 吨"}, "description": {"存货：钢材 800 吨"},
		"item_type": {"vehicle"}, "item_serial_number": {"LSVAU2180N2183294"}, "item_description": {"叉车"}, "note": {"增加抵押物"}})
	if res.StatusCode != 200 || !strings.Contains(b.last, "变更登记已完成") || !strings.Contains(b.last, "LSVAU2180N2183294") || !strings.Contains(b.last, "存货：钢材 800 吨") {
		t.Fatalf("amendment: %d\n%s", res.StatusCode, b.last)
	}
	reg := s.api(200, "GET", "/registrations/"+number, bank.Token, nil)
	items := reg["collateral"].(map[string]any)["items"].([]any)
	if len(items) != 1 || reg["version"] != 2.0 {
		t.Fatalf("after the amendment: %v", reg)
	}
	itemID := items[0].(map[string]any)["id"].(string)

	// Removing the item, with nothing else changed.
	res = b.post("/registrations/"+number+"/amendment", url.Values{"version": {"2"}, "description_was": {"存货：钢材 800 吨"}, "description": {"存货：钢材 800 吨"}, "remove_item": {itemID}})
	if res.StatusCode != 200 || strings.Contains(b.last, "LSVAU2180N2183294") {
		t.Fatalf("removal: %d\n%s", res.StatusCode, b.last)
	}
	// An amendment that changes nothing is refused in its own form.
	res = b.post("/registrations/"+number+"/amendment", url.Values{"version": {"3"}, "description_was": {"x"}, "description": {""}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(b.last, "没有任何变更内容") || !strings.Contains(b.last, "<details open><summary>变更登记") {
		t.Errorf("an empty amendment: %d\n%s", res.StatusCode, b.last)
	}

	// Twelve months out, the extension window (90 days) is not open yet.
	res = b.post("/registrations/"+number+"/extension", url.Values{"version": {"3"}, "period_months": {"12"}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(b.last, "尚未到可展期的时间") {
		t.Errorf("an early extension: %d", res.StatusCode)
	}
	res = b.post("/registrations/"+number+"/extension", url.Values{"version": {"3"}, "period_months": {"twelve"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(b.last, "应为 1 至 360 之间的整数月数") {
		t.Errorf("months that are not a number: %d", res.StatusCode)
	}

	// A new modification code is shown once, and the old one stops working.
	res = b.post("/registrations/"+number+"/modification-code", url.Values{"confirm": {"1"}})
	code2 := regexpText(`id="modification-code">([^<]+)<`, b.last)
	if res.StatusCode != http.StatusCreated || len(code2) < 20 {
		t.Fatalf("rotation: %d\n%s", res.StatusCode, b.last)
	}
	if b.get("/registrations/" + number); strings.Contains(b.last, code2) {
		t.Error("the code is shown again on the registration's page")
	}

	// The list of one's registrations filters by status.
	other := s.file(bank, "上海北辰贸易有限公司", uscc("91310115MA1K3YJ2X"))
	b.get("/registrations/" + other)
	b.post("/registrations/"+other+"/cancellation", url.Values{"reason": {"debt_repaid"}, "confirm": {"1"}})
	for status, want := range map[string][]string{"": {number, other}, "effective": {number}, "cancelled": {other}} {
		b.get("/registrations?status=" + status)
		for _, n := range []string{number, other} {
			listed := strings.Contains(b.last, ">"+n+"</a>")
			wanted := strings.Contains(strings.Join(want, " "), n)
			if listed != wanted {
				t.Errorf("status %q: %s listed %v, want %v", status, n, listed, wanted)
			}
		}
	}
}

func TestTheObjectorWithdrawsOrSubmitsACaseNotice(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bank := s.bank("registrant")
	gid, gcode := s.org("上海星辰精密机械有限公司", "enterprise")
	grantor := s.user(gid, gcode, "registrant")
	number := s.file(bank, "上海星辰精密机械有限公司", gcode)
	b := s.browser()
	b.signIn(grantor)
	b.get("/registrations/" + number)
	object := func() string {
		t.Helper()
		b.get("/registrations/" + number)
		res := b.post("/registrations/"+number+"/objections", url.Values{"idempotency_key": {regexpField("idempotency_key", b.last)}, "statement": {"未设定此项担保"}})
		if res.StatusCode != 200 {
			t.Fatalf("objection: %d\n%s", res.StatusCode, b.last)
		}
		return regexpText(`action="/registrations/`+number+`/objections/(\d{20})/withdrawal"`, b.last)
	}
	first := object()
	if res := b.post("/registrations/"+number+"/objections/"+first+"/withdrawal", url.Values{"confirm": {"1"}}); res.StatusCode != 200 || !strings.Contains(b.last, "异议已撤回") {
		t.Fatalf("withdrawal: %d\n%s", res.StatusCode, b.last)
	}
	second := object()
	res := b.post("/registrations/"+number+"/objections/"+second+"/case-notice", url.Values{"court": {"上海市浦东新区人民法院"}, "case_number": {"(2026)沪0115民初1号"}, "accepted_on": {"26/11/2026"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(b.last, "日期时间格式有误") || !strings.Contains(b.last, `value="上海市浦东新区人民法院"`) {
		t.Fatalf("a date in the wrong form: %d", res.StatusCode)
	}
	res = b.post("/registrations/"+number+"/objections/"+second+"/case-notice", url.Values{"court": {"上海市浦东新区人民法院"}, "case_number": {"(2026)沪0115民初1号"}, "accepted_on": {"2026-11-26"}})
	if res.StatusCode != 200 || !strings.Contains(b.last, "受理通知已提交") || !strings.Contains(b.last, "已起诉或仲裁") {
		t.Fatalf("case notice: %d\n%s", res.StatusCode, b.last)
	}
	// The bank may not withdraw the grantor's objection.
	bb := s.browser()
	bb.signIn(bank)
	bb.get("/registrations/" + number)
	if strings.Contains(bb.last, "/withdrawal") {
		t.Error("the bank is offered the grantor's withdrawal")
	}
	if res := bb.post("/registrations/"+number+"/objections/"+second+"/withdrawal", url.Values{"confirm": {"1"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("the bank withdrew the grantor's objection: %d", res.StatusCode)
	}
	// Nor is the bank, the secured party, offered an objection to its own
	// registration: it amends or cancels it. The grantor is offered one.
	if strings.Contains(bb.last, `id="objection"`) {
		t.Error("the secured party is offered the objection form on its own registration")
	}
	if bb.get("/registrations/" + number); strings.Contains(bb.last, `id="objection"`) {
		t.Error("the secured party is offered the objection form on its own registration")
	}
	if res := bb.post("/registrations/"+number+"/objections", url.Values{"idempotency_key": {"k-bank-objects"}, "statement": {"x"}, "interest": {"y"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("the secured party objected to its own registration: %d", res.StatusCode)
	}
	if b.get("/registrations/" + number); !strings.Contains(b.last, `id="objection"`) {
		t.Error("the grantor is not offered the objection form")
	}
}

func TestAnAdministratorSuspendsAndReinstatesAUser(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	admin := s.staff("admin")
	id, code := s.org("上海星辰银行", "financial_institution")
	clerk := s.user(id, code, "registrant")
	a := s.browser()
	a.signIn(admin)
	a.get("/admin/users?organization_id=" + id)
	if !strings.Contains(a.last, clerk.Email) {
		t.Fatalf("the user is not listed:\n%s", a.last)
	}
	if res := a.post("/admin/users/"+clerk.UserID+"/suspension", url.Values{"organization_id": {id}}); res.StatusCode != 200 || !strings.Contains(a.last, "用户已暂停") {
		t.Fatalf("suspension: %d\n%s", res.StatusCode, a.last)
	}
	b := s.browser()
	b.get("/signin")
	if res := b.post("/signin", url.Values{"email": {clerk.Email}, "password": {password}, "next": {"/"}}); res.StatusCode == 200 {
		t.Error("a suspended user signed in")
	}
	if res := a.post("/admin/users/"+clerk.UserID+"/reinstatement", url.Values{"organization_id": {id}}); res.StatusCode != 200 || !strings.Contains(a.last, "用户已恢复") {
		t.Fatalf("reinstatement: %d\n%s", res.StatusCode, a.last)
	}
	b.signIn(clerk)
}

// Grantors are added, renamed and removed, and the registration assigned, on
// the amendment form; the renamed grantor stays searchable by its old name.
func TestGrantorsChangeAndTheRegistrationIsAssigned(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	id, code := s.org("上海星辰银行", "financial_institution")
	bank := s.user(id, code, "registrant", "searcher")
	newID, newCode := s.org("上海浦东发展银行股份有限公司", "financial_institution")
	assignee := s.user(newID, newCode, "registrant")
	first, second := uscc("91310115MA1K3YJ1X"), uscc("91310115MA1K3YJ2X")
	number := s.file(bank, "上海星辰机械有限公司", first)
	b := s.browser()
	b.signIn(bank)
	b.get("/registrations/" + number)
	res := b.post("/registrations/"+number+"/amendment", url.Values{"version": {"1"},
		"addg_type": {"organization"}, "addg_name": {"上海北辰贸易有限公司"}, "addg_uscc": {second}, "addg_address": {"上海市静安区"},
		"rename_name": {"上海星辰精密机械有限公司"}})
	if res.StatusCode != 200 || !strings.Contains(b.last, "上海北辰贸易有限公司") || !strings.Contains(b.last, "上海星辰精密机械有限公司") {
		t.Fatalf("add and rename: %d\n%s", res.StatusCode, b.last)
	}
	found := s.api(201, "POST", "/searches", bank.Token, map[string]any{"criteria": map[string]any{"grantor_name": "上海星辰机械有限公司"}})
	if found["result_count"] != 1.0 || found["results"].([]any)[0].(map[string]any)["matched_by"] != "former_name" {
		t.Errorf("the former name no longer finds it: %v", found)
	}
	// A bad USCC in a new grantor's row is shown in that row, kept.
	res = b.post("/registrations/"+number+"/amendment", url.Values{"version": {"2"}, "addg_type": {"organization"}, "addg_name": {"甲"}, "addg_uscc": {"91310115MA1K3YJ12X"}, "addg_address": {"上海市"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(b.last, `value="91310115MA1K3YJ12X"`) || !strings.Contains(b.last, "统一社会信用代码无效") {
		t.Fatalf("a bad new grantor: %d\n%s", res.StatusCode, b.last)
	}
	// Remove the first grantor (by its place) and assign to another bank.
	res = b.post("/registrations/"+number+"/amendment", url.Values{"version": {"2"}, "remove_grantor": {"0"},
		"assign_type": {"organization"}, "assign_name": {"上海浦东发展银行股份有限公司"}, "assign_uscc": {newCode}, "assign_address": {"上海市浦东新区"}})
	if res.StatusCode != 200 {
		t.Fatalf("removal and assignment: %d\n%s", res.StatusCode, b.last)
	}
	reg := s.api(200, "GET", "/registrations/"+number, assignee.Token, nil)
	grantors := reg["grantors"].([]any)
	if len(grantors) != 1 || grantors[0].(map[string]any)["uscc"] != second || reg["controller"].(map[string]any)["organization_id"] != newID {
		t.Errorf("after removal and assignment: %v, %v", grantors, reg["controller"])
	}
	// The old controller no longer controls it: its page asks for the code.
	if b.get("/registrations/" + number); !strings.Contains(b.last, `name="modification_code"`) {
		t.Error("the assignor is not asked for the modification code")
	}
}

// Control assigned by USCC to an organization that has no account yet is
// that organization's once it has one: its page offers it the controller's
// forms, as the service lets it change the registration without the code.
func TestAnAssigneeThatOpensAnAccountLaterControls(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bank := s.bank("registrant")
	later := uscc("91310115MA1K3YJ7X")
	number := s.file(bank, "上海星辰机械有限公司", uscc("91310115MA1K3YJ1X"))
	s.api(201, "POST", "/registrations/"+number+"/amendments", bank.Token, map[string]any{
		"secured_parties": []any{map[string]any{"type": "organization", "name": "后开户银行股份有限公司", "uscc": later, "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"}}})
	id := s.api(201, "POST", "/organizations", adminToken, map[string]any{"name": "后开户银行股份有限公司", "uscc": later, "kind": "financial_institution"})["id"].(string)
	assignee := s.user(id, later, "registrant")
	b := s.browser()
	b.signIn(assignee)
	b.get("/registrations/" + number)
	if strings.Contains(b.last, `name="modification_code"`) || !strings.Contains(b.last, "/modification-code") {
		t.Errorf("the assignee is not offered the controller's forms:\n%s", b.last)
	}
	// And the service agrees: it cancels without the code.
	s.api(201, "POST", "/registrations/"+number+"/cancellation", assignee.Token, map[string]any{"reason": "debt_repaid"})
}

// A registrant that does not control a registration changes it with its
// modification code; a wrong code is refused in the form.
func TestAnotherRegistrantChangesWithTheModificationCode(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	id, code := s.org("上海星辰银行", "financial_institution")
	bank := s.user(id, code, "registrant")
	agentID, agentCode := s.org("上海登记代理有限公司", "enterprise")
	// The agent is no party to the registration: it reads its page as a
	// searcher (reading the register is searching it).
	agent := s.user(agentID, agentCode, "registrant", "searcher")
	filed := s.api(201, "POST", "/registrations", bank.Token, map[string]any{
		"kind": "chattel_mortgage", "period_months": 12, "agreed_with_grantor": true,
		"grantors":        []any{map[string]any{"type": "organization", "name": "上海星辰精密机械有限公司", "uscc": uscc("91310115MA1K3YJ1X"), "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"}},
		"secured_parties": []any{map[string]any{"type": "organization", "name": "上海星辰银行", "uscc": code, "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"}},
		"collateral":      map[string]any{"description": "存货"},
	})
	number, modCode := filed["number"].(string), filed["modification_code"].(string)
	b := s.browser()
	b.signIn(agent)
	b.get("/registrations/" + number)
	if !strings.Contains(b.last, "凭修改码") || strings.Contains(b.last, "/modification-code") {
		t.Fatalf("the agent's page:\n%s", b.last)
	}
	res := b.post("/registrations/"+number+"/cancellation", url.Values{"version": {"1"}, "reason": {"debt_repaid"}, "modification_code": {"AAAA-BBBB-CCCC-DDDD-EEEE"}, "confirm": {"1"}})
	if res.StatusCode != http.StatusForbidden || !strings.Contains(b.last, "您的账户无权进行此操作") || !strings.Contains(b.last, "<details open><summary>注销登记") {
		t.Fatalf("a wrong code: %d\n%s", res.StatusCode, b.last)
	}
	res = b.post("/registrations/"+number+"/cancellation", url.Values{"version": {"1"}, "reason": {"debt_repaid"}, "modification_code": {modCode}, "confirm": {"1"}})
	if res.StatusCode != 200 || !strings.Contains(b.last, "注销登记已完成") {
		t.Fatalf("the right code: %d\n%s", res.StatusCode, b.last)
	}
}

// The search page takes an as-of time in China Standard Time and can
// include inactive registrations; results show their history.
func TestSearchAsOfAndInactive(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	id, code := s.org("上海星辰银行", "financial_institution")
	bank := s.user(id, code, "registrant", "searcher")
	number := s.file(bank, "上海星辰精密机械有限公司", uscc("91310115MA1K3YJ1X"))
	time.Sleep(1100 * time.Millisecond) // as-of times are read to the second
	before := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02T15:04:05")
	s.api(201, "POST", "/registrations/"+number+"/cancellation", bank.Token, map[string]any{"reason": "debt_repaid"})
	b := s.browser()
	b.signIn(bank)
	search := func(form url.Values) string {
		t.Helper()
		b.get("/search")
		form.Set("idempotency_key", regexpField("idempotency_key", b.last))
		form.Set("criterion", "grantor_name")
		form.Set("value", "上海星辰精密机械有限公司")
		if res := b.post("/search", form); res.StatusCode != 200 || !strings.HasPrefix(res.Request.URL.Path, "/searches/") {
			t.Fatalf("search %v: %d %s\n%s", form, res.StatusCode, res.Request.URL, b.last)
		}
		return regexpText(`<h2 id="count">([^<]+)</h2>`, b.last)
	}
	if got := search(url.Values{}); got != "共 0 条登记" {
		t.Errorf("now: %q", got)
	}
	if got := search(url.Values{"include_inactive": {"1"}}); got != "共 1 条登记" || !strings.Contains(b.last, "已注销") || !strings.Contains(b.last, "注销登记") {
		t.Errorf("with inactive: %q", got)
	}
	if got := search(url.Values{"as_of": {before}}); got != "共 1 条登记" || !strings.Contains(b.last, "有效") {
		t.Errorf("as of %s: %q", before, got)
	}
	b.get("/search")
	future := time.Now().Add(48 * time.Hour).Format("2006-01-02T15:04")
	res := b.post("/search", url.Values{"criterion": {"grantor_name"}, "value": {"x"}, "as_of": {future}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(b.last, "不得晚于当前时间") {
		t.Errorf("as of the future: %d", res.StatusCode)
	}
}

// A search shows the similar names, each a link that opens the search form
// filled in with it.
func TestSimilarNamesOpenANewSearch(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	id, code := s.org("上海星辰银行", "financial_institution")
	bank := s.user(id, code, "registrant", "searcher")
	s.file(bank, "上海星晨精密机械有限公司", uscc("91310115MA1K3YJ1X"))
	b := s.browser()
	b.signIn(bank)
	b.get("/search")
	res := b.post("/search", url.Values{"idempotency_key": {regexpField("idempotency_key", b.last)}, "criterion": {"grantor_name"}, "value": {"上海星辰精密机械有限公司"}})
	if res.StatusCode != 200 || !strings.Contains(b.last, "相近名称") {
		t.Fatalf("search: %d\n%s", res.StatusCode, b.last)
	}
	link := regexpText(`<ul class="similar"><li><a href="([^"]+)">上海星晨精密机械有限公司</a>`, b.last)
	if link == "" {
		t.Fatalf("no link for the similar name:\n%s", b.last)
	}
	b.get(strings.ReplaceAll(link, "&amp;", "&"))
	if !strings.Contains(b.last, `id="value" name="value" required value="上海星晨精密机械有限公司"`) {
		t.Errorf("the form is not filled in:\n%s", b.last)
	}
}

func TestTheListOfRegistrationsPages(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bank := s.bank("registrant")
	for range 51 {
		s.file(bank, "上海星辰精密机械有限公司", uscc("91310115MA1K3YJ1X"))
	}
	b := s.browser()
	b.signIn(bank)
	b.get("/registrations?status=effective")
	rows := strings.Count(b.last, `<tr><td><a href="/registrations/`)
	next := strings.ReplaceAll(regexpText(`<a href="([^"]+)" rel="next">`, b.last), "&amp;", "&")
	if rows != 50 || !strings.Contains(next, "status=effective") || !strings.Contains(next, "cursor=") {
		t.Fatalf("first page: %d rows, next %q", rows, next)
	}
	b.get(next)
	if rows := strings.Count(b.last, `<tr><td><a href="/registrations/`); rows != 1 || strings.Contains(b.last, `rel="next"`) {
		t.Errorf("second page: %d rows", rows)
	}
}

// A registration's pages (the page, its certificate page and its PDF) are
// read as the API reads it: its parties and controller read them with any
// role; anyone else is reading the register, which needs the searcher role.
// Without it the page says which role is needed and who gives it, in the
// user's language; with it each read leaves a registration.read entry.
func TestReadingAnotherOrganizationsRegistrationOnThePagesNeedsTheSearcherRole(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bank := s.bank("registrant")
	grantorID, grantorCode := s.org("上海星辰精密机械有限公司", "enterprise")
	number := s.file(bank, "上海星辰精密机械有限公司", grantorCode)
	outsiderID, outsiderCode := s.org("上海北辰贸易有限公司", "enterprise")
	outsider := s.user(outsiderID, outsiderCode, "org_admin", "registrant")
	searcher := s.user(outsiderID, outsiderCode, "searcher")
	grantor := s.user(grantorID, grantorCode, "org_admin")
	paths := []string{"/registrations/" + number, "/registrations/" + number + "/certificate", "/registrations/" + number + "/certificate.pdf"}

	for _, lang := range []struct{ code, needs, role string }{{"zh", "查询人", ""}, {"en", "Searcher", "en"}} {
		b := s.browser()
		b.signIn(outsider)
		if lang.role != "" {
			b.get("/lang/en?next=/")
		}
		for _, path := range paths {
			res := b.get(path)
			if res.StatusCode != http.StatusForbidden || !strings.Contains(b.last, `id="why"`) || !strings.Contains(b.last, `id="needed"`) || !strings.Contains(b.last, "<strong>"+lang.needs+"</strong>") {
				t.Errorf("%s, an outsider without the searcher role, %s: %d\n%s", lang.code, path, res.StatusCode, b.last)
			}
		}
	}
	for who, u := range map[string]user{"the grantor's org_admin": grantor, "the controller's registrant": bank, "another organization's searcher": searcher} {
		b := s.browser()
		b.signIn(u)
		for _, path := range paths {
			if res := b.get(path); res.StatusCode != http.StatusOK {
				t.Errorf("%s, %s: %d", who, path, res.StatusCode)
			}
		}
	}
	audited := func(userID, outcome string) int {
		return len(s.api(200, "GET", "/audit?action=registration.read&outcome="+outcome+"&actor="+userID, adminToken, nil)["items"].([]any))
	}
	if n := audited(searcher.UserID, "success"); n != len(paths) {
		t.Errorf("the searcher's reads: %d audited, want %d", n, len(paths))
	}
	if n := audited(outsider.UserID, "denied"); n != 2*len(paths) {
		t.Errorf("the outsider's refusals: %d audited, want %d", n, 2*len(paths))
	}
	for _, u := range []user{grantor, bank} {
		if n := audited(u.UserID, "success"); n != 0 {
			t.Errorf("a party's own reads audited: %d", n)
		}
	}
}
