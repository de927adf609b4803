package web_test

import (
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/httpx"
)

func TestSessionCookieIsHttpOnlyAndSameSite(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bank := s.bank("registrant", "searcher")
	b := s.browser()
	b.get("/signin")
	res := b.post("/signin", url.Values{"email": {bank.Email}, "password": {password}, "next": {"/search"}})
	var session *http.Cookie
	for r := res; r != nil; r = r.Request.Response {
		for _, c := range r.Cookies() {
			if c.Name == "registry_session" {
				session = c
			}
		}
	}
	if session == nil {
		t.Fatal("no session cookie was set")
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/", session)
	}
	if session.Secure {
		t.Error("a cookie over plain HTTP is marked Secure: the browser would never send it back")
	}
	if res.Request.URL.Path != "/search" || !strings.Contains(b.last, `action="/search"`) {
		t.Errorf("after sign-in: %s", res.Request.URL)
	}
	// The session's token lasts the session's time, not the API's 30 days.
	tokens := s.api(200, "GET", "/tokens?user_id="+bank.UserID, adminToken, nil)["items"].([]any)
	if len(tokens) != 2 {
		t.Fatalf("%d tokens, want the API's and the session's", len(tokens))
	}
	var session12h int
	for _, tok := range tokens {
		at, _ := time.Parse(time.RFC3339, tok.(map[string]any)["expires_at"].(string))
		if d := time.Until(at); d > 11*time.Hour && d <= 12*time.Hour {
			session12h++
		}
	}
	if session12h != 1 {
		t.Errorf("no token of the session expires in 12 hours: %v", tokens)
	}
}

func TestUnknownPagesGetATranslatedNotFoundPage(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	b.get("/lang/en?next=/")
	for _, path := range []string{"/nope", "/registrations/new/x", "/static/nope.css", "/static/", "/static"} {
		res := b.get(path)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d", path, res.StatusCode)
		}
		if strings.Contains(b.last, "app.css") && strings.HasPrefix(path, "/static") {
			t.Errorf("%s lists the folder:\n%s", path, b.last)
		}
		if !strings.HasPrefix(path, "/static") && !strings.Contains(b.last, "No such page or number.") {
			t.Errorf("%s is not the site's page:\n%s", path, b.last)
		}
	}
}

func TestFormsWithoutTheSessionsCSRFTokenAreRefused(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bank := s.bank("registrant", "searcher")
	number := s.file(bank, "上海星辰精密机械有限公司", uscc("91310115MA1K3YJ1X"))
	b := s.browser()
	b.signIn(bank)
	b.get("/registrations/" + number)
	for name, form := range map[string]url.Values{
		"no token":    {"csrf": {""}, "reason": {"debt_repaid"}},
		"wrong token": {"csrf": {wrong(b.csrf())}, "reason": {"debt_repaid"}},
	} {
		t.Run(name, func(t *testing.T) {
			res := b.post("/registrations/"+number+"/cancellation", form)
			if res.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d, want 403", res.StatusCode)
			}
			if !strings.Contains(b.last, "表单已过期或不是来自本网站") {
				t.Errorf("the page does not say why:\n%s", b.last)
			}
		})
	}
	t.Run("another site's Origin", func(t *testing.T) {
		b.get("/registrations/" + number)
		req, _ := http.NewRequest("POST", s.url+"/registrations/"+number+"/cancellation", strings.NewReader(url.Values{"csrf": {b.csrf()}, "reason": {"debt_repaid"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		res, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d, want 403", res.StatusCode)
		}
	})
	t.Run("a browser that says the request is cross-site", func(t *testing.T) {
		for _, site := range []string{"cross-site", "same-site"} {
			b.get("/registrations/" + number)
			req, _ := http.NewRequest("POST", s.url+"/registrations/"+number+"/cancellation", strings.NewReader(url.Values{"csrf": {b.csrf()}, "reason": {"debt_repaid"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", site)
			res, err := b.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("Sec-Fetch-Site %s: status %d, want 403", site, res.StatusCode)
			}
		}
	})
	t.Run("a CSRF cookie planted with a known value", func(t *testing.T) {
		// A sibling host can set the CSRF cookie; with double-submit alone
		// it would then know the token. The token is bound to the session.
		planted := strings.Repeat("A", 43)
		u, _ := url.Parse(s.url)
		b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "registry_csrf", Value: planted, Path: "/"}})
		res := b.post("/registrations/"+number+"/cancellation", url.Values{"csrf": {planted}, "reason": {"debt_repaid"}})
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("the planted cookie's value as the token: status %d, want 403", res.StatusCode)
		}
	})
	t.Run("a token from another session", func(t *testing.T) {
		other := s.browser()
		other.signIn(s.bank("registrant"))
		other.get("/registrations")
		stolen := other.csrf()
		b.get("/registrations/" + number)
		// The victim's own CSRF cookie, the attacker's session's token.
		if res := b.post("/registrations/"+number+"/cancellation", url.Values{"csrf": {stolen}, "reason": {"debt_repaid"}}); res.StatusCode != http.StatusForbidden {
			t.Errorf("status %d, want 403", res.StatusCode)
		}
	})
	reg := s.api(200, "GET", "/registrations/"+number, bank.Token, nil)
	if reg["status"] != "effective" {
		t.Errorf("a refused form changed the registration: %v", reg["status"])
	}
	// The same form with the page's token goes through.
	b.get("/registrations/" + number)
	res := b.post("/registrations/"+number+"/cancellation", url.Values{"reason": {"debt_repaid"}, "confirm": {"1"}})
	if res.StatusCode != 200 || !strings.Contains(b.last, "注销登记已完成") {
		t.Fatalf("status %d:\n%s", res.StatusCode, b.last)
	}
}

// wrong is token with its first character changed.
func wrong(token string) string {
	if token[0] == 'x' {
		return "y" + token[1:]
	}
	return "x" + token[1:]
}

func TestSessionsEndOnSignOutAndOnSuspension(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	id, code := s.org("上海星辰银行", "financial_institution")
	bank := s.user(id, code, "registrant", "searcher")
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, b *browser)
	}{
		{"sign-out", func(t *testing.T, b *browser) { b.post("/signout", url.Values{}) }},
		{"the user's suspension", func(t *testing.T, b *browser) {
			s.api(201, "POST", "/users/"+bank.UserID+"/suspension", adminToken, nil)
			t.Cleanup(func() { s.api(201, "POST", "/users/"+bank.UserID+"/reinstatement", adminToken, nil) })
		}},
		{"the organization's suspension", func(t *testing.T, b *browser) {
			s.api(201, "POST", "/organizations/"+id+"/suspension", adminToken, nil)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := s.browser()
			b.signIn(bank)
			if res := b.get("/registrations"); res.Request.URL.Path != "/registrations" {
				t.Fatalf("signed in, yet sent to %s", res.Request.URL)
			}
			tc.end(t, b)
			res := b.get("/registrations")
			if res.Request.URL.Path != "/signin" {
				t.Fatalf("after %s the session still opens %s", tc.name, res.Request.URL)
			}
		})
	}
}

func TestWrongPasswordIsShownOnTheFormAndAudited(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bank := s.bank("registrant")
	b := s.browser()
	b.get("/lang/en?next=/signin")
	res := b.post("/signin", url.Values{"email": {bank.Email}, "password": {"not the password"}, "next": {"https://evil.example/"}})
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(b.last, "The email or password is not right") || !strings.Contains(b.last, `value="`+bank.Email+`"`) {
		t.Fatalf("status %d:\n%s", res.StatusCode, b.last)
	}
	if !strings.Contains(b.last, `name="next" value="/"`) {
		t.Error("the form kept a next address off the site")
	}
	auditor := s.staff("auditor")
	trail := s.api(200, "GET", "/audit?action=token.signin&outcome=denied", auditor.Token, nil)
	if items := trail["items"].([]any); len(items) != 1 || !strings.HasSuffix(items[0].(map[string]any)["detail"].(string), "(web)") ||
		items[0].(map[string]any)["target"] != bank.Email {
		t.Errorf("the refused sign-in is not in the trail as a web request: %v", trail)
	}
}

func TestLanguageChoiceIsRemembered(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	if b.get("/"); !strings.Contains(b.last, `<html lang="zh-CN">`) {
		t.Fatal("the default language is not Chinese")
	}
	res := b.get("/lang/en?next=/verify")
	if res.Request.URL.Path != "/verify" || !strings.Contains(b.last, `<html lang="en">`) || !strings.Contains(b.last, "Verify a certificate") {
		t.Fatalf("after switching: %s\n%s", res.Request.URL, b.last)
	}
	if b.get("/"); !strings.Contains(b.last, "Register of security interests") {
		t.Error("the choice was not remembered")
	}
	if res := b.get("/lang/en?next=//evil.example/"); res.Request.URL.Host != strings.TrimPrefix(s.url, "http://") {
		t.Errorf("the switch led off the site, to %s", res.Request.URL)
	}
	if res := b.get("/lang/fr"); res.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown language: %d", res.StatusCode)
	}
}

func TestCertificateVerificationIsPublic(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bank := s.bank("registrant")
	number := s.file(bank, "上海星辰精密机械有限公司", uscc("91310115MA1K3YJ1X"))
	b := s.browser()
	for _, tc := range []struct {
		number string
		status int
		want   string
	}{
		{number, 200, "此编号由本登记机构签发"},
		{number[:19] + string("0123456789"[(int(number[19]-'0')+1)%10]), 422, "编号无效"},
		{"20261126000000000000", 422, "编号无效"},
		{"12", 422, "编号无效"},
	} {
		res := b.get("/verify?number=" + tc.number)
		if res.StatusCode != tc.status || !strings.Contains(b.last, tc.want) {
			t.Errorf("%s: status %d, want %d with %q", tc.number, res.StatusCode, tc.status, tc.want)
		}
	}
}

func TestPagesNeedASessionAndTheRightRole(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	id, code := s.org("上海星辰机械", "enterprise")
	registrant := s.user(id, code, "registrant")
	b := s.browser()
	for _, path := range []string{"/search", "/registrations", "/registrations/new", "/audit", "/admin/organizations"} {
		if res := b.get(path); res.Request.URL.Path != "/signin" || res.Request.URL.Query().Get("next") != path {
			t.Errorf("%s without a session: %s", path, res.Request.URL)
		}
	}
	admin := s.user(id, code, "org_admin")
	b.signIn(registrant)
	// A refusal for want of a role says which, and who gives it.
	for path, want := range map[string][]string{
		"/search":              {"此页面需要<strong>查询人</strong>角色", admin.Email, `href="/"`},
		"/audit":               {"<strong>登记机构管理员</strong>或<strong>审计员</strong>角色", "仅由登记机构的工作人员持有"},
		"/admin/organizations": {"仅由登记机构的工作人员持有"},
		"/audit/export":        {"仅由登记机构的工作人员持有"},
	} {
		res := b.get(path)
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("%s as a registrant: %d", path, res.StatusCode)
		}
		for _, w := range want {
			if !strings.Contains(b.last, w) {
				t.Errorf("%s as a registrant does not say %q:\n%s", path, w, b.last)
			}
		}
	}
	if res := b.get("/registrations/20261126000000000000x"); res.StatusCode >= 500 {
		t.Errorf("a bad number: %d", res.StatusCode)
	}
}

func TestAuditExportFromThePageIsTheAPIsCSV(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	auditor := s.staff("auditor")
	bank := s.bank("registrant")
	number := s.file(bank, "=HYPERLINK(\"x\")有限公司", uscc("91310115MA1K3YJ1X"))
	b := s.browser()
	b.signIn(auditor)
	res := b.get("/audit/export?action=registration.file")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("status %d, %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(b.last)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0][0] != "id" || rows[1][6] != number {
		t.Errorf("export: %v", rows)
	}
	if res := b.get("/audit?from=yesterday"); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(b.last, "日期时间格式有误") {
		t.Errorf("a bad filter: %d", res.StatusCode)
	}
}

// Whatever a browser or a script sends the pages, the answer is a page, not
// a 500, and nothing is written.
func TestHostileRequestsGetAPageNotAnError(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bank := s.bank("registrant", "searcher")
	auditor := s.staff("auditor")
	for _, who := range []user{bank, auditor} {
		b := s.browser()
		b.signIn(who)
		for _, path := range []string{"/registrations/%00", "/registrations/" + strings.Repeat("9", 5000), "/searches/abc", "/searches/20261126000000000000/certificate",
			"/registrations?status=%ff", "/registrations?cursor=%00%01", "/audit?actor=%00&outcome=nope&cursor=zz", "/audit/export?from=%ff",
			"/verify?number=%E4%B8%AD", "/admin/users?organization_id=%00", "/admin/organizations?status=x", "/lang/%00", "/static/../../go.mod", "/nope"} {
			if res := b.get(path); res.StatusCode >= 500 {
				t.Errorf("GET %s: %d\n%s", path, res.StatusCode, b.last)
			}
		}
		b.get("/registrations/new")
		token := b.csrf()
		for _, form := range []url.Values{
			{"grantor_name": {"\x00"}, "grantor_uscc": {"\xff\xfe"}, "period_months": {"1e9"}, "max_amount": {"-1"}, "kind": {"x"}},
			{"grantor_type": {"individual", "foreign", "?"}, "grantor_name": {"a"}, "item_type": {"vehicle", "x"}, "item_serial_number": {strings.Repeat("x", 100000)}},
			{"period_months": {"99999999999999999999"}},
		} {
			form.Set("csrf", token)
			if res := b.post("/registrations", form); res.StatusCode >= 500 || res.StatusCode < 400 {
				t.Errorf("POST /registrations %v: %d", form, res.StatusCode)
			}
		}
		res := b.post("/search", url.Values{"csrf": {token}, "criterion": {"grantor_name"}, "value": {strings.Repeat("名", 2000)}, "as_of": {"9999-99-99T99:99"}})
		if res.StatusCode != http.StatusUnprocessableEntity && res.StatusCode != http.StatusForbidden {
			t.Errorf("a hostile search: %d", res.StatusCode)
		}
		// Too large for a registrant; refused before it is read for an
		// auditor, who files nothing.
		big := url.Values{"csrf": {token}, "description": {strings.Repeat("x", 2<<20)}}
		want := http.StatusRequestEntityTooLarge
		if who == auditor {
			want = http.StatusForbidden
		}
		if res := b.post("/registrations", big); res.StatusCode != want {
			t.Errorf("a 2 MiB form: %d, want %d", res.StatusCode, want)
		}
	}
	if list := s.api(200, "GET", "/registrations?controller=mine", bank.Token, nil)["items"].([]any); len(list) != 0 {
		t.Errorf("hostile forms filed %d registrations", len(list))
	}
}

func TestPagesShareTheAPIsLimitPerAddress(t *testing.T) {
	t.Parallel()
	s := newSiteWith(t, func(o *httpx.Options) { o.PerAddress = httpx.Limit{Rate: 1.0 / 3600, Burst: 3} })
	b := s.browser()
	for i := range 3 {
		if res := b.get("/"); res.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d", i+1, res.StatusCode)
		}
	}
	res := b.get("/verify")
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Errorf("beyond the burst: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
}

func TestSigningInAgainEndsTheEarlierSession(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	id, code := s.org("上海星辰银行", "financial_institution")
	first := s.user(id, code, "registrant")
	second := s.user(id, code, "searcher")
	b := s.browser()
	b.signIn(first)
	b.signIn(second)
	tokens := s.api(200, "GET", "/tokens?user_id="+first.UserID, adminToken, nil)["items"].([]any)
	if len(tokens) != 1 {
		t.Errorf("%d live tokens of the first user, want only the API's", len(tokens))
	}
	if b.get("/"); !strings.Contains(b.last, `href="/search"`) || strings.Contains(b.last, `href="/registrations/new"`) {
		t.Error("the pages are not the second user's")
	}
}

// Over TLS every cookie is Secure and __Host- prefixed, so that neither a
// plain-HTTP page nor a sibling host can read or plant it.
func TestCookiesOverTLSAreSecure(t *testing.T) {
	t.Parallel()
	s := newSiteServed(t, func(*httpx.Options) {}, httptest.NewTLSServer)
	bank := s.bank("registrant")
	b := s.browser()
	b.get("/signin")
	res := b.post("/signin", url.Values{"email": {bank.Email}, "password": {password}, "next": {"/registrations"}})
	if res.Request.URL.Path != "/registrations" {
		t.Fatalf("sign-in over TLS ended at %s", res.Request.URL)
	}
	seen := map[string]bool{}
	for r := res; r != nil; r = r.Request.Response {
		for _, c := range r.Cookies() {
			seen[c.Name] = true
			if !c.Secure || !strings.HasPrefix(c.Name, "__Host-") || c.Path != "/" || c.Domain != "" || !c.HttpOnly {
				t.Errorf("cookie %+v over TLS", c)
			}
		}
	}
	if !seen["__Host-registry_session"] {
		t.Errorf("no __Host-registry_session cookie: %v", seen)
	}
}

// A form posted after the session ended leads, after signing in again, back
// to the page it was on, not to the address it posted to.
func TestAFormPostedAfterTheSessionEndedReturnsToItsPage(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bank := s.bank("registrant")
	number := s.file(bank, "上海星辰精密机械有限公司", uscc("91310115MA1K3YJ1X"))
	b := s.browser()
	b.signIn(bank)
	b.get("/registrations/" + number)
	token := b.csrf()
	b.post("/signout", url.Values{})
	req, _ := http.NewRequest("POST", s.url+"/registrations/"+number+"/cancellation", strings.NewReader(url.Values{"csrf": {token}, "reason": {"debt_repaid"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", s.url+"/registrations/"+number)
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b.read(res)
	if res.Request.URL.Path != "/signin" || !strings.Contains(b.last, `name="next" value="/registrations/`+number+`"`) {
		t.Errorf("after the session ended, the form led to %s:\n%s", res.Request.URL, b.last)
	}
	if reg := s.api(200, "GET", "/registrations/"+number, bank.Token, nil); reg["status"] != "effective" {
		t.Errorf("a form without a session changed the registration: %v", reg["status"])
	}
}

// The Origin a browser sends with a form must be the site's own origin:
// scheme, host and port. A page served over plain http on the same host
// (which anyone on the path can write) is another origin.
func TestFormsFromAnotherSchemeOrPortAreRefused(t *testing.T) {
	t.Parallel()
	for _, tls := range []bool{false, true} {
		serve, scheme, other := httptest.NewServer, "http", "https"
		if tls {
			serve, scheme, other = httptest.NewTLSServer, "https", "http"
		}
		t.Run(scheme, func(t *testing.T) {
			s := newSiteServed(t, func(*httpx.Options) {}, serve)
			bank := s.bank("registrant", "searcher")
			number := s.file(bank, "上海星辰精密机械有限公司", uscc("91310115MA1K3YJ1X"))
			b := s.browser()
			b.get("/signin")
			b.post("/signin", url.Values{"email": {bank.Email}, "password": {password}, "next": {"/"}})
			host := strings.TrimPrefix(s.url, scheme+"://")
			hostname, port, _ := strings.Cut(host, ":")
			cancel := func(origin string) int {
				b.get("/registrations/" + number)
				req, _ := http.NewRequest("POST", s.url+"/registrations/"+number+"/cancellation", strings.NewReader(url.Values{"csrf": {b.csrf()}, "reason": {"debt_repaid"}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Origin", origin)
				b.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
				defer func() { b.c.CheckRedirect = nil }()
				res, err := b.c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				return res.StatusCode
			}
			for _, origin := range []string{other + "://" + host, scheme + "://" + hostname, scheme + "://" + hostname + ":1" + port,
				scheme + "://evil@" + host, "null", scheme + "://" + host + "/x"} {
				if got := cancel(origin); got != http.StatusForbidden {
					t.Errorf("Origin %s: status %d, want 403", origin, got)
				}
			}
			if got := cancel(strings.ToUpper(scheme) + "://" + host); got == http.StatusForbidden {
				t.Errorf("the site's own Origin: status %d", got)
			}
		})
	}
}

// The statistics page shows the public "<5" for a month and province with
// fewer than 5 searches (one organization's), and staff the exact count.
func TestStatisticsPageWithholdsFewSearchesFromThePublic(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bank := s.bank("searcher")
	s.api(201, "POST", "/searches", bank.Token, map[string]any{"criteria": map[string]any{"uscc": uscc("91310115MA1K3YJ1X")}})
	cell := regexp.MustCompile(`<td>(\d+)</td><td>([^<]*)</td></tr>`)
	b := s.browser()
	b.get("/statistics?by=province")
	if m := cell.FindStringSubmatch(b.last); m == nil || m[2] != "&lt;5" || !strings.Contains(b.last, "&lt;5") {
		t.Errorf("to the public, the searches cell is %v", m)
	}
	b.signIn(s.staff("auditor"))
	b.get("/statistics?by=province")
	if m := cell.FindStringSubmatch(b.last); m == nil || m[2] != "1" {
		t.Errorf("to an auditor, the searches cell is %v", m)
	}
}
