package web_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestAnIndividualSignsUpAndObjectsAsAGrantor(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	admin := s.staff("admin")
	bank := s.bank("registrant", "searcher")
	const id = "44030419851231002X"

	b := s.browser()
	b.get("/signup")
	if !strings.Contains(b.last, `href="/signup?kind=individual"`) {
		t.Fatalf("the sign-up page offers no individual's sign-up:\n%s", b.last)
	}
	b.get("/signup?kind=individual")
	if !strings.Contains(b.last, "注册个人账户") || !strings.Contains(b.last, `name="id_number"`) || !strings.Contains(b.last, `name="address"`) ||
		strings.Contains(b.last, `name="uscc"`) || !strings.Contains(b.last, `name="kind" value="individual"`) {
		t.Fatalf("the individual's sign-up page:\n%s", b.last)
	}
	form := url.Values{"kind": {"individual"}, "name": {"王五"}, "id_number": {"440304198512310021"}, "address": {"广东省深圳市福田区深南大道1号"},
		"email": {"wangwu@example.cn"}, "password": {password}}
	// A wrong check character is shown beside the field, the rest kept.
	if res := b.post("/signup", form); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(b.last, "身份证件号码无效") ||
		!strings.Contains(b.last, `value="广东省深圳市福田区深南大道1号"`) || !strings.Contains(b.last, "注册个人账户") {
		t.Fatalf("a bad identity number: %d\n%s", res.StatusCode, b.last)
	}
	form.Set("id_number", strings.ToLower(id))
	if res := b.post("/signup", form); res.StatusCode != http.StatusOK || res.Request.URL.Path != "/signup/submitted" {
		t.Fatalf("sign-up: %d at %s\n%s", res.StatusCode, res.Request.URL, b.last)
	}
	// The page after it, kept in a cookie, shows the number masked only.
	if !strings.Contains(b.last, "440304************") || strings.Contains(b.last, id) {
		t.Errorf("the submitted page shows the number:\n%s", b.last)
	}
	other := s.browser()
	other.get("/signup?kind=individual")
	form.Set("email", "someone@example.cn")
	form.Del("csrf")
	if res := other.post("/signup", form); res.StatusCode != http.StatusConflict || !strings.Contains(other.last, "该身份证件号码已有账户") {
		t.Errorf("another sign-up with the same number: %d\n%s", res.StatusCode, other.last)
	}

	a := s.browser()
	a.signIn(admin)
	a.get("/admin/organizations?status=pending")
	if !strings.Contains(a.last, id) || !strings.Contains(a.last, "<td>个人</td>") {
		t.Fatalf("the administrator does not see the individual whole:\n%s", a.last)
	}
	orgs := s.api(200, "GET", "/organizations?status=pending", adminToken, nil)["items"].([]any)
	org := orgs[0].(map[string]any)["id"].(string)
	a.post("/admin/organizations/"+org+"/approval", url.Values{})

	number := s.api(201, "POST", "/registrations", bank.Token, map[string]any{
		"kind":                "chattel_mortgage",
		"grantors":            []any{map[string]any{"type": "individual", "name": "王五", "id_number": id, "address": "北京市东城区东长安街1号"}},
		"secured_parties":     []any{map[string]any{"type": "organization", "name": "上海星辰银行", "uscc": bank.USCC, "address": "上海市黄浦区中山东一路1号", "legal_representative": "李明"}},
		"collateral":          map[string]any{"description": "挖掘机一台", "items": []any{}},
		"agreed_with_grantor": true,
		"period_months":       12,
	})["number"].(string)

	b.signIn(user{Email: "wangwu@example.cn"})
	b.get("/registrations/" + number)
	if !strings.Contains(b.last, id) || !strings.Contains(b.last, `action="/registrations/`+number+`/objections"`) {
		t.Fatalf("the individual's view of a registration naming it:\n%s", b.last)
	}
	res := b.post("/registrations/"+number+"/objections", url.Values{"idempotency_key": {regexpField("idempotency_key", b.last)}, "statement": {"本人从未设立此项担保"}})
	if res.StatusCode != http.StatusOK || !strings.Contains(b.last, "异议登记已完成") {
		t.Fatalf("objection: %d\n%s", res.StatusCode, b.last)
	}
	// The individual is offered nothing it cannot use: no Users page (its
	// own account's page instead), no webhooks, no registrant role to give.
	for _, w := range []string{`href="/admin/users"`, `href="/webhooks"`, `href="/registrations/new"`} {
		if strings.Contains(b.last, w) {
			t.Errorf("the individual's menu offers %s", w)
		}
	}
	mine := regexpText(`href="(/admin/users/[0-9a-f-]{36})"`, b.last)
	if mine == "" || !strings.Contains(b.last, ">我的账户</a>") {
		t.Errorf("the individual's menu has no link to its own account")
	}
	// Its own account's page has no roles to give: the account is the
	// person alone.
	if b.get(mine); strings.Contains(b.last, `name="roles"`) || !strings.Contains(b.last, "<h1>我的账户</h1>") {
		t.Errorf("the individual's own account page offers the roles:\n%s", b.last)
	}
	if res := b.get("/admin/users"); res.StatusCode != http.StatusForbidden || !strings.Contains(b.last, "个人账户仅属本人") {
		t.Errorf("the users page, to an individual: %d\n%s", res.StatusCode, b.last)
	}
	if res := b.get("/webhooks"); res.StatusCode != http.StatusForbidden || !strings.Contains(b.last, "个人账户") || strings.Contains(b.last, "机构管理员") {
		t.Errorf("the webhooks page, to an individual: %d\n%s", res.StatusCode, b.last)
	}
	token := s.api(201, "POST", "/tokens", "", map[string]any{"email": "wangwu@example.cn", "password": password})["token"].(string)
	p := s.api(403, "POST", "/webhooks", token, map[string]any{"url": "https://hooks.example.cn/registry"})
	if detail, _ := p["detail"].(string); !strings.Contains(detail, "individual's account") {
		t.Errorf("the API's refusal of a webhook to an individual does not say why: %v", p)
	}
	s.api(403, "GET", "/webhooks", token, nil)
	// The administrator's menu has the Users page beside the organizations.
	if a.get("/"); !strings.Contains(a.last, `href="/admin/users"`) || !strings.Contains(a.last, `href="/admin/organizations"`) {
		t.Error("the administrator's menu lacks the Users page")
	}

	// A searcher of another organization sees the number masked.
	sid, scode := s.org("上海某贸易有限公司", "enterprise")
	stranger := s.user(sid, scode, "searcher")
	c := s.browser()
	c.signIn(stranger)
	c.get("/registrations/" + number)
	if strings.Contains(c.last, id) || !strings.Contains(c.last, "440304************") {
		t.Errorf("another organization's view shows the number:\n%s", c.last)
	}
}

// TestBrowserIndividual is an individual's account through the pages, in
// each language: the sign-up as an individual, the administrator's list
// that shows the whole number, and the objection to a registration that
// names the individual as its grantor.
func TestBrowserIndividual(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("browser flows take a while")
	}
	s := newSite(t)
	admin := s.staff("admin")
	bank := s.bank("registrant", "searcher")
	for i, lang := range []string{"zh", "en"} {
		t.Run(lang, func(t *testing.T) {
			c := loadCatalog(t, lang)
			id := []string{"310115199001011232", "110101199003074514"}[i]
			person := user{Email: fmt.Sprintf("person%d@example.cn", i)}

			b := s.open(t, lang)
			b.do(chromedp.Navigate(s.url+"/signup"), chromedp.WaitVisible(chromedp.CSS("#as-individual")),
				chromedp.Click(chromedp.CSS("#as-individual")), chromedp.WaitVisible(chromedp.CSS("#id_number")))
			if got := b.text("h1"); got != c.tr("signup.individual_title") {
				t.Errorf("the individual's sign-up is titled %q", got)
			}
			b.labelled()
			b.do(typeIn("#name", "赵六"),
				typeIn("#id_number", id),
				typeIn("#address", "上海市浦东新区世纪大道100号"),
				typeIn("#email", person.Email),
				typeIn("#password", password))
			b.screenshot("individual-signup")
			b.do(chromedp.Click(chromedp.CSS("form[action='/signup'] button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#pending")))
			b.screenshot("individual-submitted")
			if got := b.text(".next-steps li"); got != c.tr("signup.next.review_individual") {
				t.Errorf("the next step after an individual's sign-up: %q", got)
			}

			a := s.open(t, lang)
			a.signIn(admin)
			a.do(chromedp.Navigate(s.url+"/admin/organizations?status=pending"), chromedp.WaitVisible(chromedp.CSS("table.orgs")))
			if got := a.text("table.orgs .id-number"); got != id {
				t.Errorf("the administrator sees the number as %q", got)
			}
			a.screenshot("individual-organizations")
			orgs := s.api(200, "GET", "/organizations?status=pending", adminToken, nil)["items"].([]any)
			s.api(201, "POST", "/organizations/"+orgs[0].(map[string]any)["id"].(string)+"/approval", adminToken, nil)

			number := s.api(201, "POST", "/registrations", bank.Token, map[string]any{
				"kind":                "chattel_mortgage",
				"grantors":            []any{map[string]any{"type": "individual", "name": "赵六", "id_number": id, "address": "北京市东城区东长安街1号"}},
				"secured_parties":     []any{map[string]any{"type": "organization", "name": "上海星辰银行", "uscc": bank.USCC, "address": "上海市黄浦区中山东一路1号", "legal_representative": "李明"}},
				"collateral":          map[string]any{"description": "挖掘机一台", "items": []any{}},
				"agreed_with_grantor": true,
				"period_months":       12,
			})["number"].(string)
			b.signIn(person)
			b.do(chromedp.Navigate(s.url+"/registrations/"+number), chromedp.WaitVisible(chromedp.CSS("#statement")))
			if got := b.text(".who"); got != "赵六" {
				t.Errorf("the individual is shown as %q: its name once, not as a person of an organization", got)
			}
			b.do(typeIn("#statement", "本人从未设立此项担保"))
			b.screenshot("individual-objection")
			b.do(chromedp.Click(chromedp.CSS("form#objection button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("form[action$='/withdrawal']")))
			b.screenshot("individual-objected")
			if got := b.text("h2[id^='obj-']"); !strings.HasPrefix(got, c.tr("act.your_objection_individual")) {
				t.Errorf("the individual's objection is headed %q", got)
			}
		})
	}
}

// TestAnIndividualsPagesSpeakToThePerson: a person who signs up on the
// English pages gets emails in English; its account has no users page (the
// tile, the page and its forms are refused, saying why), its own account's
// page is "My account" without roles, its notices and the registration that
// names it speak to it, and the filing pages say why it files nothing.
func TestAnIndividualsPagesSpeakToThePerson(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bank := s.bank("registrant", "searcher")
	const id = "110105198003071234"

	b := s.browser()
	b.get("/lang/en?next=/signup?kind=individual")
	form := url.Values{"kind": {"individual"}, "name": {"Zhang San 张三"}, "id_number": {id}, "address": {"北京市朝阳区建国路1号"},
		"email": {"zhangsan@example.cn"}, "password": {password}}
	if res := b.post("/signup", form); res.StatusCode != http.StatusOK || res.Request.URL.Path != "/signup/submitted" {
		t.Fatalf("sign-up: %d at %s\n%s", res.StatusCode, res.Request.URL, b.last)
	}
	org := s.api(200, "GET", "/organizations?status=pending", adminToken, nil)["items"].([]any)[0].(map[string]any)["id"].(string)
	s.api(201, "POST", "/organizations/"+org+"/approval", adminToken, nil)
	token := s.api(201, "POST", "/tokens", "", map[string]any{"email": "zhangsan@example.cn", "password": password})["token"].(string)
	me := s.api(200, "GET", "/me", token, nil)["user"].(map[string]any)
	if me["language"] != "en" {
		t.Errorf("signed up on the English pages, its emails are in %v", me["language"])
	}

	named := s.api(201, "POST", "/registrations", bank.Token, map[string]any{
		"kind":                "chattel_mortgage",
		"grantors":            []any{map[string]any{"type": "individual", "name": "张三", "id_number": id, "address": "北京市朝阳区建国路1号"}},
		"secured_parties":     []any{map[string]any{"type": "organization", "name": "上海星辰银行", "uscc": bank.USCC, "address": "上海市黄浦区中山东一路1号", "legal_representative": "李明"}},
		"collateral":          map[string]any{"description": "挖掘机一台", "items": []any{}},
		"agreed_with_grantor": true,
		"period_months":       12,
	})["number"].(string)
	other := s.file(bank, "上海某某机械制造有限公司", uscc("91310115MA1K3YJ1X"))

	b.signIn(user{Email: "zhangsan@example.cn"})
	for _, lang := range []string{"en", "zh"} {
		t.Run(lang, func(t *testing.T) {
			tr := loadCatalog(t, lang).tr
			b.get("/lang/" + lang + "?next=/")
			shoot(t, b.last, "ind-home-"+lang)
			if strings.Contains(b.last, `href="/admin/users"`) || strings.Contains(b.last, tr("home.task.users")) {
				t.Errorf("the individual's home page offers to manage users:\n%s", b.last)
			}
			mine := regexpText(`href="(/admin/users/[0-9a-f-]{36})"`, b.last)
			if mine == "" {
				t.Fatalf("no link to the person's own account:\n%s", b.last)
			}

			// The users page and its forms are refused, saying why.
			if res := b.get("/admin/users"); res.StatusCode != http.StatusForbidden || !strings.Contains(b.last, html.EscapeString(tr("error.not_for_individuals.users"))) {
				t.Errorf("GET /admin/users: %d\n%s", res.StatusCode, b.last)
			}
			shoot(t, b.last, "ind-users-"+lang)
			if res := b.post("/admin/users", url.Values{"organization_id": {org}, "email": {"colleague@example.cn"}, "display_name": {"同事"},
				"roles": {"searcher"}, "password": {password}}); res.StatusCode != http.StatusForbidden || !strings.Contains(b.last, html.EscapeString(tr("error.not_for_individuals.users"))) {
				t.Errorf("POST /admin/users: %d\n%s", res.StatusCode, b.last)
			}
			if res := b.post(mine+"/suspension", url.Values{"organization_id": {org}}); res.StatusCode != http.StatusForbidden {
				t.Errorf("POST suspension: %d", res.StatusCode)
			}
			if users := s.api(200, "GET", "/users?organization_id="+org, adminToken, nil)["items"].([]any); len(users) != 1 {
				t.Errorf("the individual's account has %d users", len(users))
			}

			// My account: the person's own, without roles or a way back to
			// a list of users.
			b.get(mine)
			shoot(t, b.last, "ind-myaccount-"+lang)
			for _, w := range []string{"<h1>" + html.EscapeString(tr("nav.my_account")) + "</h1>", html.EscapeString(tr("user.notify_email_individual"))} {
				if !strings.Contains(b.last, w) {
					t.Errorf("My account lacks %q", w)
				}
			}
			for _, w := range []string{`name="roles"`, html.EscapeString(tr("user.back")), html.EscapeString(tr("user.notify_email")) + "<", html.EscapeString(tr("role.org_admin"))} {
				if strings.Contains(b.last, w) {
					t.Errorf("My account has %q:\n%s", w, b.last)
				}
			}
			if res := b.post(mine, url.Values{"display_name": {"Zhang San 张三"}, "language": {lang}, "notify_email": {"1"}}); res.StatusCode != http.StatusOK ||
				res.Request.URL.Path != mine || !strings.Contains(b.last, html.EscapeString(tr("notice.account_saved"))) {
				t.Errorf("saving My account: %d at %s\n%s", res.StatusCode, res.Request.URL, b.last)
			}
			if got := s.api(200, "GET", "/me", token, nil)["user"].(map[string]any); got["language"] != lang || got["notify_email"] != true ||
				fmt.Sprint(got["roles"]) != "[org_admin searcher]" {
				t.Errorf("after saving My account: %v", got)
			}

			// Notices speak to the person.
			b.get("/notices")
			shoot(t, b.last, "ind-notices-"+lang)
			if !strings.Contains(b.last, html.EscapeString(tr("notices.lead_individual"))) || strings.Contains(b.last, html.EscapeString(tr("notices.lead"))) {
				t.Errorf("the notices page speaks of an organization:\n%s", b.last)
			}

			for path, key := range map[string]string{"/watches": "watches.lead", "/searches": "history.lead"} {
				if b.get(path); !strings.Contains(b.last, html.EscapeString(tr(key+"_individual"))) || strings.Contains(b.last, html.EscapeString(tr(key))) {
					t.Errorf("%s speaks of an organization:\n%s", path, b.last)
				}
			}

			// The registration that names it: its address as on its card,
			// and no interest asked of a grantor; asked elsewhere.
			b.get("/registrations/" + named)
			shoot(t, b.last, "ind-reg-"+lang)
			if !strings.Contains(b.last, html.EscapeString(tr("party.address_individual"))) || !strings.Contains(b.last, `id="as-grantor"`) || strings.Contains(b.last, `id="interest"`) {
				t.Errorf("the registration naming the individual:\n%s", b.last)
			}
			if b.get("/registrations/" + other); !strings.Contains(b.last, `id="interest"`) || strings.Contains(b.last, `id="as-grantor"`) {
				t.Errorf("a registration not naming the individual asks no interest")
			}

			// The filing pages say why it files nothing.
			for _, path := range []string{"/registrations/new", "/registrations/bulk", "/registrations/changes", "/drafts", "/registrations"} {
				if res := b.get(path); res.StatusCode != http.StatusForbidden || !strings.Contains(b.last, html.EscapeString(tr("error.not_for_individuals.filing"))) {
					t.Errorf("GET %s: %d\n%.3000s", path, res.StatusCode, b.last)
				}
			}
			shoot(t, b.last, "ind-file-"+lang)
			if res := b.post("/registrations", url.Values{"kind": {"chattel_mortgage"}}); res.StatusCode != http.StatusForbidden ||
				!strings.Contains(b.last, html.EscapeString(tr("error.not_for_individuals.filing"))) {
				t.Errorf("POST /registrations: %d\n%.3000s", res.StatusCode, b.last)
			}
		})
	}
}
