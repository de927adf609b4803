package web_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Each notice is listed once: the unread are marked and counted in the one
// list, not listed again above it.
func TestANoticeIsListedOnce(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bank := s.bank("registrant")
	gid, gcode := s.org("上海星辰精密机械有限公司", "enterprise")
	grantor := s.user(gid, gcode, "registrant")
	number := s.file(bank, "上海星辰精密机械有限公司", gcode)
	b := s.browser()
	b.signIn(grantor)
	b.get("/notices")
	if got := strings.Count(b.last, `href="/registrations/`+number+`"`); got != 1 {
		t.Errorf("the filing's notice is listed %d times, want once:\n%s", got, b.last)
	}
	if !strings.Contains(b.last, "有 1 条未读通知") {
		t.Errorf("the unread notice is not counted:\n%s", b.last)
	}
}

// The registry has an icon of its own, at the address browsers ask for and
// linked from every page.
func TestTheFaviconIsServed(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	for _, path := range []string{"/favicon.ico", "/static/favicon.svg"} {
		res, err := s.client.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "image/") || len(body) == 0 {
			t.Errorf("%s: %d %q, %d bytes", path, res.StatusCode, res.Header.Get("Content-Type"), len(body))
		}
		if path == "/favicon.ico" && !bytes.HasPrefix(body, []byte{0, 0, 1, 0}) {
			t.Errorf("%s is not an icon: % x", path, body[:min(len(body), 8)])
		}
	}
	b := s.browser()
	b.get("/")
	if !strings.Contains(b.last, `<link rel="icon" href="/favicon.ico"`) || !strings.Contains(b.last, `href="/static/favicon.svg?v=`) {
		t.Error("the home page does not link the icon")
	}
}

// The pages link their styles and script by version (the start of the
// file's SHA-256): in that version a browser keeps them a year without
// asking again; any other address is checked again each time.
func TestStaticFilesAreKeptByVersion(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	b.get("/")
	for _, name := range []string{"app.css", "app.js", "favicon.svg"} {
		m := regexp.MustCompile(`"(/static/` + regexp.QuoteMeta(name) + `\?v=([0-9a-f]+))"`).FindStringSubmatch(b.last)
		if m == nil {
			t.Errorf("the home page does not link %s by version", name)
			continue
		}
		body := func(path, cache string) []byte {
			t.Helper()
			res, err := s.client.Get(s.url + path)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			got, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusOK || res.Header.Get("Cache-Control") != cache || res.Header.Get("Vary") != "" {
				t.Errorf("%s: %d, Cache-Control %q, Vary %q; want 200, %q and no Vary", path, res.StatusCode, res.Header.Get("Cache-Control"), res.Header.Get("Vary"), cache)
			}
			return got
		}
		kept := body(m[1], "public, max-age=31536000, immutable")
		if sum := sha256.Sum256(kept); !strings.HasPrefix(hex.EncodeToString(sum[:]), m[2]) || len(m[2]) < 12 {
			t.Errorf("%s is version %s, but its SHA-256 is %x", name, m[2], sum)
		}
		for _, other := range []string{"/static/" + name, "/static/" + name + "?v=000000000000"} {
			if got := body(other, "no-cache"); !bytes.Equal(got, kept) {
				t.Errorf("%s answers other bytes than %s", other, m[1])
			}
		}
	}
}

// The amendment's amount is labelled where it is typed: its label is tied
// to its input and comes right before it, not above the grantors.
func TestTheAmendmentsAmountIsLabelledBesideItsInput(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bank := s.bank("registrant")
	number := s.file(bank, "上海星辰精密机械有限公司", uscc("91310115MA1K3YJ1X"))
	b := s.browser()
	b.signIn(bank)
	b.get("/registrations/" + number)
	tied := regexp.MustCompile(`<label for="amend-max">最高债权额</label>\s*(<input type="hidden"[^>]*>\s*)?<div class="row"><input id="amend-max" name="max_amount"`)
	if !tied.MatchString(b.last) {
		t.Errorf("the amount's label is not right before its input:\n%s", b.last)
	}
	form := b.last[strings.Index(b.last, `id="amend"`):]
	if strings.Index(form, `for="amend-max"`) > strings.Index(form, "<legend>"+"担保人") {
		t.Error("the amount's label is below the grantors")
	}
}

// A click on an irreversible button changes nothing: it opens a page that
// says what will happen and what cannot be undone, whose button posts the
// same form confirmed, and a link back.
func TestIrreversibleChangesAreConfirmedFirst(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bank := s.bank("registrant")
	number := s.file(bank, "上海星辰精密机械有限公司", uscc("91310115MA1K3YJ1X"))
	b := s.browser()
	b.signIn(bank)
	for _, tc := range []struct {
		name, path string
		form       url.Values
		say        []string
	}{
		{"cancellation", "/cancellation", url.Values{"version": {"1"}, "reason": {"debt_repaid"}, "note": {"已还清"}},
			[]string{"确认注销登记", "注销不能撤回", "主债权消灭", "已还清", "确认注销"}},
		{"a new modification code", "/modification-code", url.Values{}, []string{"确认更换修改码", "原修改码即时失效", "原修改码不能恢复"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.get("/registrations/" + number)
			res := b.post("/registrations/"+number+tc.path, tc.form)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d:\n%s", res.StatusCode, b.last)
			}
			for _, want := range tc.say {
				if !strings.Contains(b.last, want) {
					t.Errorf("the confirmation does not say %q", want)
				}
			}
			if !strings.Contains(b.last, `<form method="post" action="/registrations/`+number+tc.path+`" class="confirm-form">`) ||
				!strings.Contains(b.last, `<input type="hidden" name="confirm" value="1">`) || !strings.Contains(b.last, `href="/registrations/`+number+`"`) {
				t.Errorf("the confirmation posts no confirmed form, or has no way back:\n%s", b.last)
			}
			for k, v := range tc.form {
				if !strings.Contains(b.last, `<input type="hidden" name="`+k+`" value="`+v[0]+`">`) {
					t.Errorf("the confirmed form does not carry %s=%s", k, v[0])
				}
			}
			if strings.Contains(b.last, `id="modification-code"`) {
				t.Error("a new code was issued before it was confirmed")
			}
		})
	}
	// The code the filing gave still works: it was not replaced.
	agentID, agentCode := s.org("上海登记代理有限公司", "enterprise")
	// The agent is no party to the registration: it reads its page as a
	// searcher (reading the register is searching it).
	agent := s.user(agentID, agentCode, "registrant", "searcher")
	filed := s.api(201, "POST", "/registrations", bank.Token, map[string]any{
		"kind": "chattel_mortgage", "period_months": 12, "collateral": map[string]any{"description": "存货"}, "agreed_with_grantor": true,
		"grantors":        []any{map[string]any{"type": "organization", "name": "上海北辰贸易有限公司", "uscc": uscc("91310115MA1K3YJ2X"), "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"}},
		"secured_parties": []any{map[string]any{"type": "organization", "name": "上海星辰银行", "uscc": bank.USCC, "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"}},
	})
	other, code := filed["number"].(string), filed["modification_code"].(string)
	b.get("/registrations/" + other)
	b.post("/registrations/"+other+"/modification-code", url.Values{})
	a := s.browser()
	a.signIn(agent)
	a.get("/registrations/" + other)
	if res := a.post("/registrations/"+other+"/amendment", url.Values{"version": {"1"}, "description": {"凭原修改码变更"}, "modification_code": {code}}); res.StatusCode != 200 || !strings.Contains(a.last, "变更登记已完成") {
		t.Errorf("the code stopped working after an unconfirmed rotation: %d", res.StatusCode)
	}
	if reg := s.api(200, "GET", "/registrations/"+number, bank.Token, nil); reg["status"] != "effective" {
		t.Errorf("an unconfirmed cancellation cancelled: %v", reg["status"])
	}
	// Confirmed, it is made.
	b.get("/registrations/" + number)
	if res := b.post("/registrations/"+number+"/cancellation", url.Values{"version": {"1"}, "reason": {"debt_repaid"}, "confirm": {"1"}}); res.StatusCode != 200 || !strings.Contains(b.last, "注销登记已完成") {
		t.Fatalf("the confirmed cancellation: %d\n%s", res.StatusCode, b.last)
	}
}

// A first filing shows its modification code without a word about an old
// one: there is none. A new code says the old one stopped working.
func TestOnlyANewCodeSaysTheOldOneStoppedWorking(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bank := s.bank("registrant")
	b := s.browser()
	b.signIn(bank)
	b.get("/registrations/new")
	form := url.Values{"idempotency_key": {regexpField("idempotency_key", b.last)}, "kind": {"chattel_mortgage"}, "period_months": {"12"},
		"grantor_type": {"organization"}, "grantor_name": {"上海星辰精密机械有限公司"}, "grantor_uscc": {uscc("91310115MA1K3YJ1X")},
		"secured_type": {"organization"}, "secured_name": {"上海星辰银行"}, "secured_uscc": {bank.USCC}, "description": {"存货"},
		"grantor_address": {"上海市浦东新区张江路88号"}, "grantor_legal_representative": {"王建国"},
		"secured_address": {"上海市浦东新区博云路2号"}, "secured_legal_representative": {"李明"}, "agreed_with_grantor": {"yes"}}
	if res := b.post("/registrations", form); res.StatusCode != http.StatusCreated || !strings.Contains(b.last, `id="modification-code"`) {
		t.Fatalf("filing: %d\n%s", res.StatusCode, b.last)
	}
	if strings.Contains(b.last, "原修改码已失效") {
		t.Error("the first filing says an old code stopped working")
	}
	number := regexpText(`<dd class="number">(\d{20})</dd>`, b.last)
	b.get("/registrations/" + number)
	if res := b.post("/registrations/"+number+"/modification-code", url.Values{"confirm": {"1"}}); res.StatusCode != http.StatusCreated || !strings.Contains(b.last, "原修改码已失效") {
		t.Errorf("a new code: %d, does not say the old one stopped working", res.StatusCode)
	}
}

// An extension asked for too early says the day, in Beijing time, from
// which the registration may be extended: at the top of the page and in
// the extension's form, left open.
func TestTheExtensionRefusalNamesTheDayItOpens(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bank := s.bank("registrant")
	number := s.file(bank, "上海星辰精密机械有限公司", uscc("91310115MA1K3YJ1X"))
	reg := s.api(200, "GET", "/registrations/"+number, bank.Token, nil)
	expires, err := time.Parse(time.RFC3339, reg["expires_at"].(string))
	if err != nil {
		t.Fatal(err)
	}
	beijing := time.FixedZone("UTC+8", 8*3600)
	opens := expires.In(beijing).AddDate(0, 0, -90)
	for lang, want := range map[string]string{"zh": opens.Format("2006-01-02 15:04:05") + "（北京时间）", "en": opens.Format("2006-01-02 15:04:05") + " (UTC+8)"} {
		t.Run(lang, func(t *testing.T) {
			b := s.browser()
			b.get("/lang/" + lang + "?next=/")
			b.signIn(bank)
			b.get("/registrations/" + number)
			res := b.post("/registrations/"+number+"/extension", url.Values{"version": {"1"}, "period_months": {"12"}})
			if res.StatusCode != http.StatusConflict {
				t.Fatalf("status %d", res.StatusCode)
			}
			summary := html.UnescapeString(regexpText(`(?s)<div class="error-summary" id="errors"[^>]*autofocus[^>]*>(.*?)</div>`, b.last))
			if !strings.Contains(summary, want) || !strings.Contains(summary, `href="#err-extend-form"`) {
				t.Errorf("the summary at the top does not name %q or link to the form:\n%s", want, summary)
			}
			if !strings.Contains(b.last, `id="err-extend-form">`) || !strings.Contains(b.last, "<details open><summary>"+map[string]string{"zh": "展期登记", "en": "Extend"}[lang]) {
				t.Errorf("the refusal is not beside the open extension form:\n%s", b.last)
			}
			if strings.Contains(b.last, `id="stale"`) {
				t.Error("an early extension is told the registration changed")
			}
		})
	}
}

// A change refused because the registration changed since the page was
// opened says so and offers the registration as it is now.
func TestAStaleChangeOffersTheWayOn(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bank := s.bank("registrant")
	number := s.file(bank, "上海星辰精密机械有限公司", uscc("91310115MA1K3YJ1X"))
	b := s.browser()
	b.signIn(bank)
	b.get("/registrations/" + number)
	s.api(201, "POST", "/registrations/"+number+"/amendments", bank.Token, map[string]any{"description": "changed elsewhere"})
	res := b.post("/registrations/"+number+"/extension", url.Values{"version": {"1"}, "period_months": {"12"}})
	if res.StatusCode != http.StatusPreconditionFailed {
		t.Fatalf("status %d", res.StatusCode)
	}
	way := regexpText(`(?s)<p class="warning" id="stale">(.*?)</p>`, b.last)
	if !strings.Contains(way, "请重新打开该登记") || !strings.Contains(way, `href="/registrations/`+number+`"`) {
		t.Errorf("no way on: %q", way)
	}
	// Cancelling a registration cancelled elsewhere: the error page says
	// so and links back to it.
	s.api(201, "POST", "/registrations/"+number+"/cancellation", bank.Token, map[string]any{"reason": "debt_repaid"})
	if res := b.post("/registrations/"+number+"/cancellation", url.Values{"version": {"2"}, "reason": {"debt_repaid"}}); res.StatusCode != http.StatusConflict ||
		!strings.Contains(b.last, "该登记已不再有效") || !strings.Contains(b.last, `<a class="button" id="reload" href="/registrations/`+number+`">重新打开该登记</a>`) {
		t.Errorf("the error page (%d) does not say what happened and link back to the registration:\n%s", res.StatusCode, b.last)
	}
	// A refusal of another kind is no reason to reload.
	b.get("/registrations/" + number)
	if strings.Contains(b.last, `id="stale"`) {
		t.Error("a registration's page offers to reload itself unasked")
	}
}

// A search sent after the session ended is not lost: sign-in says why it
// is asked for, and leads back to the search filled in as it was typed.
func TestASearchSentAfterTheSessionEndedKeepsWhatWasTyped(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bank := s.bank("searcher")
	b := s.browser()
	b.signIn(bank)
	b.get("/search")
	token := b.csrf()
	b.post("/signout", url.Values{})
	res := b.post("/search", url.Values{"csrf": {token}, "criterion": {"uscc"}, "value": {"91310115MA1K3YJ12G"}, "as_of": {"2026-11-26T10:00"}, "include_inactive": {"1"}})
	if res.Request.URL.Path != "/signin" || !strings.Contains(b.last, "登录后将回到查询页，已输入的查询条件会保留") {
		t.Fatalf("after the session ended the search led to %s:\n%s", res.Request.URL, b.last)
	}
	res = b.post("/signin", url.Values{"email": {bank.Email}, "password": {password}, "next": {regexpField("next", strings.ReplaceAll(b.last, "&amp;", "&"))}})
	if res.Request.URL.Path != "/search" {
		t.Fatalf("signed in at %s", res.Request.URL)
	}
	for _, want := range []string{`<option value="uscc" selected>`, `value="91310115MA1K3YJ12G"`, `value="2026-11-26T10:00"`, `name="include_inactive" value="1" checked`} {
		if !strings.Contains(b.last, want) {
			t.Errorf("the search form does not have %s again", want)
		}
	}
	// Another form says it was not sent.
	b.post("/signout", url.Values{})
	number := s.file(s.bank("registrant"), "上海星辰精密机械有限公司", uscc("91310115MA1K3YJ1X"))
	b.post("/registrations/"+number+"/extension", url.Values{"csrf": {token}, "period_months": {"12"}})
	if !strings.Contains(b.last, "刚才提交的内容未能发送") {
		t.Errorf("the sign-in page does not say the form was not sent:\n%s", b.last)
	}
}

// TestFilingFormAsksWhatTheMeasuresAskFor: the filing form refuses a filing
// without a party's address, a mainland organization's legal
// representative or the declaration that the grantor agreed, and says so
// beside each field and in the summary, in each language; with them it
// files, and the registration's page shows them.
func TestFilingFormAsksWhatTheMeasuresAskFor(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bank := s.bank("registrant")
	for _, lang := range []string{"zh", "en"} {
		t.Run(lang, func(t *testing.T) {
			c := loadCatalog(t, lang)
			b := s.browser()
			b.signIn(bank)
			if lang == "en" {
				b.get("/lang/en?next=/")
			}
			b.get("/registrations/new")
			form := url.Values{"idempotency_key": {regexpField("idempotency_key", b.last)}, "kind": {"chattel_mortgage"}, "period_months": {"12"},
				"grantor_type": {"organization"}, "grantor_name": {"上海星辰精密机械有限公司"}, "grantor_uscc": {uscc("91310115MA1K3YJ1X")},
				"secured_type": {"organization"}, "secured_name": {"上海星辰银行"}, "secured_uscc": {bank.USCC}, "secured_address": {"上海市浦东新区博云路2号"},
				"secured_legal_representative": {"李明"}, "description": {"存货"}}
			if res := b.post("/registrations", form); res.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("without the Measures' content: %d\n%s", res.StatusCode, b.last)
			}
			page := html.UnescapeString(b.last)
			for field, msg := range map[string]string{
				"grantors[0].address": c.tr("field.required"), "grantors[0].legal_representative": c.tr("field.required"),
				"agreed_with_grantor": c.tr("field.agreed_with_grantor"),
			} {
				if !strings.Contains(page, `id="`+pageErrorID(field)+`">`+msg+`</p>`) {
					t.Errorf("%s: no %q beside the field", field, msg)
				}
			}
			summary := regexpText(`(?s)<div class="error-summary" id="errors"[^>]*>(.*?)</div>`, page)
			for _, label := range []string{c.tr("file.grantor_row", 1) + " · " + c.tr("party.address"),
				c.tr("file.grantor_row", 1) + " · " + c.tr("party.legal_representative"), c.tr("file.agreed_with_grantor")} {
				if !strings.Contains(summary, label) {
					t.Errorf("the summary does not name %q:\n%s", label, summary)
				}
			}
			// What was typed is kept; the secured party's rows are not in error.
			if !strings.Contains(page, `value="上海市浦东新区博云路2号"`) || strings.Contains(page, `id="`+pageErrorID("secured_parties[0].address")+`"`) {
				t.Errorf("the secured party's address is lost or in error")
			}
			form.Set("grantor_address", "上海市浦东新区张江路88号")
			form.Set("grantor_legal_representative", "王建国")
			form.Set("agreed_with_grantor", "yes")
			form.Set("principal_amount", "3,000,000")
			form.Set("principal_currency", "CNY")
			form.Set("security_scope", "主债权本金及利息")
			form.Set("transfer_restriction", "不得转让")
			form.Set("csrf", b.csrf())
			if res := b.post("/registrations", form); res.StatusCode != http.StatusCreated {
				t.Fatalf("with it: %d\n%s", res.StatusCode, b.last)
			}
			number := regexpText(`<dd class="number">(\d{20})</dd>`, b.last)
			b.get("/registrations/" + number)
			page = html.UnescapeString(b.last)
			for _, want := range []string{c.tr("party.address"), "上海市浦东新区张江路88号", c.tr("party.legal_representative"), "王建国",
				c.tr("reg.principal_amount"), "3,000,000.00", c.tr("reg.security_scope"), "主债权本金及利息", c.tr("reg.transfer_restriction"),
				c.tr("reg.agreed_declared")} {
				if !strings.Contains(page, want) {
					t.Errorf("the registration's page does not show %q", want)
				}
			}
		})
	}
}

// pageErrorID is the id a page gives the message beside field: err- and the
// field's path, each character other than a letter, digit, _ or - made -.
func pageErrorID(field string) string {
	return "err-" + regexp.MustCompile(`[^A-Za-z0-9_-]`).ReplaceAllString(field, "-")
}
