package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/certpdf"
	"github.com/movable-registry/registry/internal/httpapi"
	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/outbound"
	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/registrytest"
	"github.com/movable-registry/registry/internal/web"
)

const adminToken = registrytest.AdminToken

const password = "a long enough password"

// site is a registry on a fresh database served over real HTTP: the API and
// the web pages on one router, as registryd serves them.
type site struct {
	t   testing.TB
	url string
	svc *registry.Service
	// client trusts the server's certificate when it serves TLS.
	client *http.Client
}

func newSite(t testing.TB) *site {
	t.Helper()
	return newSiteWith(t, func(*httpx.Options) {})
}

// newSiteWith is newSite with the HTTP layer's options changed.
func newSiteWith(t testing.TB, options func(*httpx.Options)) *site {
	t.Helper()
	return newSiteServed(t, options, httptest.NewServer)
}

// newSiteServed is newSiteWith served by serve (httptest.NewTLSServer, say).
func newSiteServed(t testing.TB, options func(*httpx.Options), serve func(http.Handler) *httptest.Server) *site {
	t.Helper()
	return newSiteOf(t, options, serve, false)
}

// newSiteOf is newSiteServed, of a sandbox (a test register) when sandbox is
// set, as registryd with REGISTRY_SANDBOX=true.
func newSiteOf(t testing.TB, options func(*httpx.Options), serve func(http.Handler) *httptest.Server, sandbox bool) *site {
	t.Helper()
	r := registrytest.New(t, registrytest.Configure(func(c *registry.Config) {
		c.ExtensionWindowDays, c.Sandbox = 90, sandbox
		c.CheckWebhookURL = outbound.Guard{Allow: []string{"127.0.0.1/32"}}.Check
	}))
	log := registrytest.Logger()
	// The PDF certificates are signed by a key made for the tests, and kept.
	certs := certpdf.New(certpdf.Options{Signer: registrytest.Signer(t), Keeper: r.Store, Sandbox: sandbox})
	pages, err := web.New(r.Service, web.Options{Logger: log, Strict: true, Certificates: certs})
	if err != nil {
		t.Fatal(err)
	}
	opts := httpx.Options{Logger: log}
	options(&opts)
	srv := serve(registrytest.Handler(r.Service, opts, httpapi.Options{Logger: log, Certificates: certs}, pages))
	t.Cleanup(srv.Close)
	return &site{t: t, url: srv.URL, svc: r.Service, client: srv.Client()}
}

// api calls the JSON API and checks the status.
func (s *site) api(status int, method, path, token string, body any) map[string]any {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+httpapi.BasePath+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != status {
		s.t.Fatalf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, status, b)
	}
	out := map[string]any{}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			s.t.Fatal(err)
		}
	}
	return out
}

// uscc completes 17 characters with the GB 32100-2015 check character,
// computed here apart from the code under test.
func uscc(body string) string {
	const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	weights := []int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}
	sum := 0
	for i := range 17 {
		sum += strings.IndexByte(alphabet, body[i]) * weights[i]
	}
	return body + string(alphabet[(31-sum%31)%31])
}

var seq atomic.Int64

// user is an account that signs in with its email and password.
type user struct {
	Email, OrgID, USCC, Token, UserID string
}

// org makes an active organization (by the admin).
func (s *site) org(name, kind string) (id, code string) {
	s.t.Helper()
	code = uscc(fmt.Sprintf("91310115MA%07d", seq.Add(1)))
	o := s.api(201, "POST", "/organizations", adminToken, map[string]any{"name": name, "uscc": code, "kind": kind})
	return o["id"].(string), code
}

// orgOf is the id of the organization holding a USCC.
func (s *site) orgOf(code string) string {
	s.t.Helper()
	for _, o := range s.api(200, "GET", "/organizations?limit=500", adminToken, nil)["items"].([]any) {
		if o := o.(map[string]any); o["uscc"] == code {
			return o["id"].(string)
		}
	}
	s.t.Fatalf("no organization holds %s", code)
	return ""
}

// user makes a user of orgID with roles and a password, and a token.
func (s *site) user(orgID, code string, roles ...string) user {
	s.t.Helper()
	email := fmt.Sprintf("u%d-%d@example.cn", seq.Add(1), time.Now().UnixNano())
	u := s.api(201, "POST", "/users", adminToken, map[string]any{"organization_id": orgID, "email": email, "display_name": "测试用户", "roles": roles, "password": password})
	tok := s.api(201, "POST", "/tokens", "", map[string]any{"email": email, "password": password})
	return user{Email: email, OrgID: orgID, USCC: code, Token: tok["token"].(string), UserID: u["id"].(string)}
}

// bank makes a bank with one user holding roles.
func (s *site) bank(roles ...string) user {
	s.t.Helper()
	id, code := s.org("上海星辰银行", "financial_institution")
	return s.user(id, code, roles...)
}

// staff makes a user of the registry's own organization with role (admin,
// auditor).
func (s *site) staff(role string) user {
	s.t.Helper()
	id, code := s.org("登记机构", "registry")
	return s.user(id, code, role)
}

// file files a registration by API with one organization grantor.
func (s *site) file(registrant user, grantorName, grantorUSCC string) string {
	s.t.Helper()
	r := s.api(201, "POST", "/registrations", registrant.Token, map[string]any{
		"kind":                "chattel_mortgage",
		"grantors":            []any{map[string]any{"type": "organization", "name": grantorName, "uscc": grantorUSCC, "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"}},
		"secured_parties":     []any{map[string]any{"type": "organization", "name": "上海浦东发展银行股份有限公司张江科技支行", "uscc": registrant.USCC, "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"}},
		"collateral":          map[string]any{"description": "存货：钢材 500 吨", "items": []any{}},
		"period_months":       12,
		"agreed_with_grantor": true,
	})
	return r["number"].(string)
}

// browser is a plain HTTP client with a cookie jar, for what a test checks
// below the page (cookies, headers, refused forms).
type browser struct {
	t    testing.TB
	s    *site
	c    *http.Client
	last string // the last page's body
}

func (s *site) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return &browser{t: s.t, s: s, c: &http.Client{Jar: jar, Timeout: 20 * time.Second, Transport: s.client.Transport}}
}

func (b *browser) get(path string) *http.Response {
	b.t.Helper()
	res, err := b.c.Get(b.s.url + path)
	if err != nil {
		b.t.Fatal(err)
	}
	b.read(res)
	return res
}

func (b *browser) read(res *http.Response) {
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	b.last = string(body)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the CSRF token of the last page.
func (b *browser) csrf() string {
	m := csrfField.FindStringSubmatch(b.last)
	if m == nil {
		b.t.Fatalf("no csrf field on the page:\n%s", b.last)
	}
	return m[1]
}

// post sends a form as the last page's form would (with its CSRF token
// unless the form sets its own).
func (b *browser) post(path string, form url.Values) *http.Response {
	b.t.Helper()
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf())
	}
	res, err := b.c.PostForm(b.s.url+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	b.read(res)
	return res
}

func (b *browser) signIn(u user) {
	b.t.Helper()
	b.get("/signin")
	res := b.post("/signin", url.Values{"email": {u.Email}, "password": {password}, "next": {"/"}})
	if res.StatusCode != 200 || res.Request.URL.Path != "/" {
		b.t.Fatalf("sign-in ended at %s with %d:\n%s", res.Request.URL, res.StatusCode, b.last)
	}
}

// regexpField is the value of the hidden field name on a page.
func regexpField(name, page string) string {
	return regexpText(`name="`+regexp.QuoteMeta(name)+`" value="([^"]*)"`, page)
}

func regexpText(pattern, page string) string {
	m := regexp.MustCompile(pattern).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return m[1]
}

// The home page's verify box takes a number as a person copies it from
// paper, with spaces or dashes: no pattern of twenty digits, room for them.
func TestTheHomeVerifyBoxTakesANumberAsTyped(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	b.get("/")
	box := regexp.MustCompile(`<input id="number"[^>]*>`).FindString(b.last)
	if box == "" || strings.Contains(box, "pattern=") || !strings.Contains(box, `maxlength="60"`) {
		t.Errorf("the verify box is %q", box)
	}
}
