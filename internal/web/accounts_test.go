package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/movable-registry/registry/internal/registry"
)

func TestSignUpWaitsForAnAdministratorsApproval(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	admin := s.staff("admin")
	code := uscc("91310115MA9999999")
	b := s.browser()
	b.get("/signup")
	form := url.Values{"name": {"上海新星贸易有限公司"}, "uscc": {code[:17] + "0"}, "kind": {"enterprise"},
		"display_name": {"李四"}, "email": {"li@xinxing.example.cn"}, "password": {password}}
	if code[17] == '0' {
		form.Set("uscc", code[:17]+"1")
	}
	// A bad USCC is shown beside its field, with the rest kept.
	res := b.post("/signup", form)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(b.last, "统一社会信用代码无效") || !strings.Contains(b.last, `value="李四"`) {
		t.Fatalf("status %d:\n%s", res.StatusCode, b.last)
	}
	// The password's rule is stated beside it before anything is sent.
	if !strings.Contains(b.last, `id="password-rule">密码至少 12 个字符。`) {
		t.Errorf("the sign-up page does not state the password rule")
	}
	form.Set("uscc", code)
	signUpForm := url.Values{}
	for k, v := range form {
		signUpForm[k] = v
	}
	if res := b.post("/signup", form); res.StatusCode != http.StatusOK || res.Request.URL.Path != "/signup/submitted" || !strings.Contains(b.last, "正在等待审核") {
		t.Fatalf("status %d at %s:\n%s", res.StatusCode, res.Request.URL, b.last)
	}
	// Reloaded, or sent again with the back button, the sign-up is the
	// same page, not a conflict.
	if res := b.get("/signup/submitted"); res.StatusCode != http.StatusOK || !strings.Contains(b.last, "上海新星贸易有限公司") {
		t.Errorf("the reloaded page: %d\n%s", res.StatusCode, b.last)
	}
	if res := b.post("/signup", signUpForm); res.StatusCode != http.StatusOK || res.Request.URL.Path != "/signup/submitted" {
		t.Errorf("the form sent again: %d at %s", res.StatusCode, res.Request.URL)
	}
	// Another browser sending the same USCC is told of the conflict.
	other := s.browser()
	other.get("/signup")
	signUpForm.Del("csrf")
	if res := other.post("/signup", signUpForm); res.StatusCode != http.StatusConflict {
		t.Errorf("another browser's sign-up with the same USCC: %d", res.StatusCode)
	}
	// Pending: the new user cannot sign in yet, and is told why.
	b.get("/signin")
	if res := b.post("/signin", url.Values{"email": {"li@xinxing.example.cn"}, "password": {password}, "next": {"/"}}); res.StatusCode != http.StatusForbidden ||
		!strings.Contains(b.last, "您的机构正在等待登记机构审核") {
		t.Fatalf("a pending organization's user signing in: %d\n%s", res.StatusCode, b.last)
	}
	trail := s.api(200, "GET", "/audit?action=token.signin&outcome=denied", adminToken, nil)["items"].([]any)
	if len(trail) != 1 || trail[0].(map[string]any)["target"] != "li@xinxing.example.cn" {
		t.Errorf("the refused sign-in is not audited under the email asked for: %v", trail)
	}

	a := s.browser()
	a.signIn(admin)
	a.get("/admin/organizations")
	if !strings.Contains(a.last, "上海新星贸易有限公司") {
		t.Fatalf("the pending organization is not listed:\n%s", a.last)
	}
	orgs := s.api(200, "GET", "/organizations?status=pending", adminToken, nil)["items"].([]any)
	id := orgs[0].(map[string]any)["id"].(string)
	res = a.post("/admin/organizations/"+id+"/approval", url.Values{})
	if res.StatusCode != http.StatusOK || !strings.Contains(a.last, "机构已审核通过") {
		t.Fatalf("approval: %d\n%s", res.StatusCode, a.last)
	}
	b.get("/signin")
	if res := b.post("/signin", url.Values{"email": {"li@xinxing.example.cn"}, "password": {password}, "next": {"/"}}); res.StatusCode != http.StatusOK || res.Request.URL.Path != "/" {
		t.Fatalf("the approved user could not sign in: %d %s", res.StatusCode, res.Request.URL)
	}
}

func TestAnAdministratorRejectsASquattersSignUp(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	admin := s.staff("admin")
	code := uscc("91310115MA8888888")
	squatter := s.browser()
	squatter.get("/signup")
	form := url.Values{"name": {"上海真星贸易有限公司"}, "uscc": {code}, "kind": {"enterprise"},
		"display_name": {"冒名者"}, "email": {"boss@zhenxing.example.cn"}, "password": {password}}
	if res := squatter.post("/signup", form); res.StatusCode != http.StatusOK {
		t.Fatalf("status %d:\n%s", res.StatusCode, squatter.last)
	}
	a := s.browser()
	a.signIn(admin)
	a.get("/admin/organizations?status=pending")
	if !strings.Contains(a.last, "驳回") {
		t.Fatalf("no reject button for the pending sign-up:\n%s", a.last)
	}
	orgs := s.api(200, "GET", "/organizations?status=pending", adminToken, nil)["items"].([]any)
	id := orgs[len(orgs)-1].(map[string]any)["id"].(string)
	// A rejection is for good: unconfirmed, it rejects nothing.
	if res := a.post("/admin/organizations/"+id+"/rejection", url.Values{}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("an unconfirmed rejection: %d\n%s", res.StatusCode, a.last)
	}
	if st := s.api(200, "GET", "/organizations?status=pending", adminToken, nil)["items"].([]any); len(st) != len(orgs) {
		t.Fatalf("an unconfirmed rejection rejected the sign-up")
	}
	a.get("/admin/organizations?status=pending")
	if !strings.Contains(a.last, `name="confirm" value="1" required`) {
		t.Fatal("the rejection's form does not ask to be confirmed")
	}
	if res := a.post("/admin/organizations/"+id+"/rejection", url.Values{"confirm": {"1"}}); res.StatusCode != http.StatusOK || !strings.Contains(a.last, "已驳回该开户申请") {
		t.Fatalf("rejection: %d\n%s", res.StatusCode, a.last)
	}
	// The real company signs up with its own USCC and its officer's email.
	real := s.browser()
	real.get("/signup")
	form.Set("display_name", "真老板")
	form.Del("csrf")
	if res := real.post("/signup", form); res.StatusCode != http.StatusOK || res.Request.URL.Path != "/signup/submitted" {
		t.Fatalf("the real sign-up after the rejection: %d\n%s", res.StatusCode, real.last)
	}
}

func TestAnAdministratorRevokesOnTheRegistrationsPage(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	admin := s.staff("admin")
	bank := s.bank("registrant")
	number := s.file(bank, "上海星辰精密机械有限公司", uscc("91310115MA1K3YJ1X"))
	a := s.browser()
	a.signIn(admin)
	if res := a.get("/admin/revocations?number=" + number); res.Request.URL.Path != "/registrations/"+number || !strings.Contains(a.last, `id="revoke"`) {
		t.Fatalf("the revocation form is not on %s", res.Request.URL)
	}
	// The document is required; the refusal is shown in the revocation form.
	res := a.post("/registrations/"+number+"/revocation", url.Values{"authority": {"上海市浦东新区人民法院"}, "confirm": {"1"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(a.last, "必填") || !strings.Contains(a.last, `value="上海市浦东新区人民法院"`) {
		t.Fatalf("status %d:\n%s", res.StatusCode, a.last)
	}
	res = a.post("/registrations/"+number+"/revocation", url.Values{"authority": {"上海市浦东新区人民法院"}, "document_number": {"(2026)沪0115民初1号"}, "confirm": {"1"}})
	if res.StatusCode != http.StatusOK || !strings.Contains(a.last, "撤销已完成") {
		t.Fatalf("status %d:\n%s", res.StatusCode, a.last)
	}
	if reg := s.api(200, "GET", "/registrations/"+number, bank.Token, nil); reg["status"] != "revoked" {
		t.Errorf("status %v after the revocation", reg["status"])
	}
	if res := a.get("/admin/revocations?number=12"); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(a.last, "编号无效") {
		t.Errorf("a bad number: %d", res.StatusCode)
	}
}

func TestAStaleFormIsRefusedNotApplied(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bank := s.bank("registrant")
	number := s.file(bank, "上海星辰精密机械有限公司", uscc("91310115MA1K3YJ1X"))
	b := s.browser()
	b.signIn(bank)
	b.get("/registrations/" + number)
	// Someone else extends it while the page is open.
	s.api(201, "POST", "/registrations/"+number+"/amendments", bank.Token, map[string]any{"description": "changed elsewhere"})
	res := b.post("/registrations/"+number+"/cancellation", url.Values{"reason": {"debt_repaid"}, "version": {"1"}, "confirm": {"1"}})
	if res.StatusCode != http.StatusPreconditionFailed || !strings.Contains(b.last, "您打开页面后该登记已被变更") {
		t.Fatalf("status %d:\n%s", res.StatusCode, b.last)
	}
	if reg := s.api(200, "GET", "/registrations/"+number, bank.Token, nil); reg["status"] != "effective" {
		t.Errorf("a stale cancellation was applied: %v", reg["status"])
	}
}

func TestAReloadedFilingIsFiledOnce(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	id, code := s.org("上海星辰银行", "financial_institution")
	bank := s.user(id, code, "registrant")
	b := s.browser()
	b.signIn(bank)
	b.get("/registrations/new")
	key := regexpField("idempotency_key", b.last)
	form := url.Values{"idempotency_key": {key}, "kind": {"chattel_mortgage"}, "period_months": {"12"},
		"grantor_type": {"organization"}, "grantor_name": {"上海星辰精密机械有限公司"}, "grantor_uscc": {uscc("91310115MA1K3YJ1X")},
		"secured_type": {"organization"}, "secured_name": {"上海星辰银行"}, "secured_uscc": {code},
		"grantor_address": {"上海市浦东新区张江路88号"}, "grantor_legal_representative": {"王建国"},
		"secured_address": {"上海市浦东新区博云路2号"}, "secured_legal_representative": {"李明"}, "agreed_with_grantor": {"yes"},
		"description": {"存货"}, "item_type": {"equipment"}, "item_serial_number": {""}}
	token := b.csrf()
	var numbers []string
	for range 2 {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set("csrf", token)
		if res := b.post("/registrations", f); res.StatusCode != http.StatusCreated {
			t.Fatalf("status %d:\n%s", res.StatusCode, b.last)
		}
		numbers = append(numbers, regexpText(`<dd class="number">(\d{20})</dd>`, b.last))
	}
	if numbers[0] != numbers[1] {
		t.Errorf("the same form filed twice: %v", numbers)
	}
	list := s.api(200, "GET", "/registrations?controller=mine", bank.Token, nil)["items"].([]any)
	if len(list) != 1 {
		t.Errorf("%d registrations after sending the form twice", len(list))
	}
}

// After approval an organization's org_admin adds its clerks on the pages,
// with the roles an org_admin may give.
func TestAnOrgAdminAddsUsers(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	id, code := s.org("上海新星贸易有限公司", "enterprise")
	orgAdmin := s.user(id, code, "org_admin")
	b := s.browser()
	b.signIn(orgAdmin)
	if b.get("/"); !strings.Contains(b.last, `href="/admin/users"`) {
		t.Fatal("the org_admin has no link to its users")
	}
	b.get("/admin/users")
	if strings.Contains(b.last, `value="admin"`) || strings.Contains(b.last, `value="auditor"`) || !strings.Contains(b.last, `value="registrant"`) {
		t.Errorf("the org_admin is offered the wrong roles:\n%s", b.last)
	}
	form := url.Values{"organization_id": {id}, "display_name": {"王五"}, "email": {"not an email"}, "roles": {"registrant", "searcher"}, "password": {password}}
	res := b.post("/admin/users", form)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(b.last, "不是有效的电子邮箱") || !strings.Contains(b.last, `value="searcher" checked`) {
		t.Fatalf("a bad email: %d\n%s", res.StatusCode, b.last)
	}
	form.Set("email", "wang@xinxing.example.cn")
	form.Set("csrf", b.csrf())
	if res := b.post("/admin/users", form); res.StatusCode != 200 || !strings.Contains(b.last, "用户已创建") || !strings.Contains(b.last, "wang@xinxing.example.cn") {
		t.Fatalf("creation: %d\n%s", res.StatusCode, b.last)
	}
	// Another organization's users are not the org_admin's to add.
	otherID, _ := s.org("上海北辰机械有限公司", "enterprise")
	form.Set("organization_id", otherID)
	form.Set("email", "intruder@xinxing.example.cn")
	if res := b.post("/admin/users", form); res.StatusCode != http.StatusForbidden {
		t.Errorf("a user in another organization: %d", res.StatusCode)
	}
	clerk := s.browser()
	clerk.get("/signin")
	if res := clerk.post("/signin", url.Values{"email": {"wang@xinxing.example.cn"}, "password": {password}, "next": {"/"}}); res.StatusCode != 200 || !strings.Contains(clerk.last, `href="/registrations/new"`) {
		t.Fatalf("the new clerk: %d\n%s", res.StatusCode, clerk.last)
	}
}

// The first admin that registryd bootstrap made signs in on the page with
// its one-time password, is asked for its own, and is signed in with it.
func TestTheFirstAdminChoosesItsPasswordOnThePage(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	u, password, err := s.svc.Bootstrap(context.Background(), registry.OrganizationInput{Name: "动产融资统一登记公示系统", USCC: uscc("91310000MA1FL0XQ1")}, "first@registry.example", "管理员")
	if err != nil {
		t.Fatal(err)
	}
	b := s.browser()
	b.get("/signin")
	res := b.post("/signin", url.Values{"email": {u.Email}, "password": {password}, "next": {"/"}})
	if res.StatusCode != http.StatusOK || !strings.Contains(b.last, `name="new_password"`) {
		t.Fatalf("the one-time password did not ask for a new one: %d\n%s", res.StatusCode, b.last)
	}
	res = b.post("/signin", url.Values{"email": {u.Email}, "password": {password}, "change": {"1"}, "new_password": {"short"}, "next": {"/"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(b.last, `name="new_password"`) {
		t.Fatalf("a short new password: %d", res.StatusCode)
	}
	res = b.post("/signin", url.Values{"email": {u.Email}, "password": {password}, "change": {"1"}, "new_password": {"the admin's own pass phrase"}, "next": {"/"}})
	if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/" {
		t.Fatalf("after choosing a password: %d at %s\n%s", res.StatusCode, res.Request.URL, b.last)
	}
	if !strings.Contains(b.last, "管理员") {
		t.Errorf("not signed in as the admin:\n%s", b.last)
	}
}

func TestAnOrgAdminEditsItsUsersOnThePage(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	id, code := s.org("上海新星贸易有限公司", "enterprise")
	orgAdmin := s.user(id, code, "org_admin")
	clerk := s.user(id, code, "searcher")
	otherID, otherCode := s.org("上海北辰机械有限公司", "enterprise")
	stranger := s.user(otherID, otherCode, "searcher")

	// The clerk can search but not file; the home page says whom to ask.
	c := s.browser()
	c.signIn(clerk)
	if !strings.Contains(c.last, `href="/search"`) || strings.Contains(c.last, `href="/registrations/new">初始登记</a><p`) {
		t.Errorf("the searcher's tasks:\n%s", c.last)
	}
	// An org_admin alone is told it may give itself the roles.
	b := s.browser()
	b.signIn(orgAdmin)
	if !strings.Contains(b.last, "可在“用户管理”中为自己") || !strings.Contains(b.last, `href="/admin/users"`) {
		t.Errorf("the org_admin's home page:\n%s", b.last)
	}
	b.get("/admin/users")
	if !strings.Contains(b.last, `href="/admin/users/`+clerk.UserID+`"`) {
		t.Fatalf("no link to edit the clerk:\n%s", b.last)
	}
	b.get("/admin/users/" + clerk.UserID)
	edit := url.Values{"display_name": {"王五"}, "roles": {"searcher", "registrant"}, "notify_email": {"1"}, "language": {"en"}}
	tests := []struct {
		name   string
		path   string
		change func(url.Values)
		status int
		want   string
	}{
		{"no role ticked is refused beside the roles", "/admin/users/" + clerk.UserID, func(f url.Values) { f.Del("roles") }, http.StatusUnprocessableEntity, "至少填写一项"},
		{"an empty name is refused beside it", "/admin/users/" + clerk.UserID, func(f url.Values) { f.Set("display_name", " ") }, http.StatusUnprocessableEntity, "必填"},
		{"the last org_admin cannot drop its own role", "/admin/users/" + orgAdmin.UserID, func(f url.Values) {}, http.StatusConflict, "与已登记的内容冲突"},
		{"another organization's user is not found", "/admin/users/" + stranger.UserID, func(f url.Values) {}, http.StatusNotFound, "找不到"},
		{"the change is saved", "/admin/users/" + clerk.UserID, func(f url.Values) {}, http.StatusOK, "用户已更新"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := url.Values{}
			for k, v := range edit {
				f[k] = v
			}
			tt.change(f)
			res := b.post(tt.path, f)
			if res.StatusCode != tt.status || !strings.Contains(b.last, tt.want) {
				t.Errorf("status %d, want %d with %q:\n%s", res.StatusCode, tt.status, tt.want, b.last)
			}
			b.get("/admin/users/" + clerk.UserID)
		})
	}
	u := s.api(200, "GET", "/users?organization_id="+id, adminToken, nil)["items"].([]any)[1].(map[string]any)
	if u["display_name"] != "王五" || u["language"] != "en" || u["notify_email"] != true || len(u["roles"].([]any)) != 2 {
		t.Errorf("the clerk after the edit: %v", u)
	}
	// The clerk's session files at once.
	if c.get("/registrations/new"); !strings.Contains(c.last, `action="/registrations"`) {
		t.Errorf("the clerk cannot file after the edit:\n%s", c.last)
	}
}
