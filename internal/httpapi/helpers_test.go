package httpapi_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/movable-registry/registry/client"
	"github.com/movable-registry/registry/internal/certpdf"
	"github.com/movable-registry/registry/internal/httpapi"
	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/outbound"
	"github.com/movable-registry/registry/internal/postgres"
	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/registrytest"
)

const adminToken = registrytest.AdminToken

// clock is the registry's clock in tests: real time shifted by an offset that
// a test may move, or stopped at an instant.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
	frozen time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.frozen.IsZero() {
		return c.frozen
	}
	return time.Now().Add(c.offset)
}

// Stop stops the clock at t until the test ends.
func (c *clock) Stop(t *testing.T, at time.Time) {
	c.mu.Lock()
	c.frozen = at
	c.mu.Unlock()
	t.Cleanup(func() {
		c.mu.Lock()
		c.frozen = time.Time{}
		c.mu.Unlock()
	})
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// env is one registry on a fresh database, reached through the real router.
type env struct {
	t     testing.TB
	h     http.Handler
	db    *sql.DB
	clock *clock
	svc   *registry.Service
	store *postgres.Store
	// url is the test database's.
	url string
	// verifierKey checks the log's checkpoints.
	verifierKey string
	// checkedOnce, when set (checkOnce), holds the method, path and status
	// of each answer already checked against the OpenAPI document.
	checkedOnce *sync.Map
}

// checkOnce has e check the answers to the same method, path and status
// against the OpenAPI document only the first time: for a test that sends
// the same requests hundreds of times for what the answers say together,
// not for their shape (checking them all took 13 ms an answer).
func (e *env) checkOnce() { e.checkedOnce = &sync.Map{} }

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, func(*registry.Config) {})
}

// longLived is for tests that move the clock by years: tokens outlive them.
func longLived(c *registry.Config) { c.TokenTTL = 100 * 365 * 24 * time.Hour }

// newEnvWith is newEnv with the service's configuration changed by configure,
// and the HTTP layer's by options (rate limits are off unless one sets them).
// stack is the options of the handler in front (httpx) and of the API.
type stack struct {
	HTTP httpx.Options
	API  httpapi.Options
}

func newEnvWith(t testing.TB, configure func(*registry.Config), options ...func(*stack)) *env {
	t.Helper()
	c := &clock{}
	// Webhooks as registryd checks them, with loopback allowed (as
	// webhooks.allow_hosts would) for receivers the tests run.
	guard := outbound.Guard{Allow: []string{"127.0.0.1/32"}}
	r := registrytest.New(t, registrytest.Clock(c.Now), registrytest.Configure(func(cfg *registry.Config) {
		cfg.ExtensionWindowDays, cfg.CheckWebhookURL = 90, guard.Check
		configure(cfg)
	}))
	log := registrytest.Logger()
	// Certificates are signed by a key made for the test, and kept.
	certs := certpdf.New(certpdf.Options{Keeper: r.Store, Signer: registrytest.Signer(t), Now: c.Now})
	opts := stack{HTTP: httpx.Options{Logger: log, Now: c.Now}, API: httpapi.Options{Logger: log, Now: c.Now, Certificates: certs}}
	for _, o := range options {
		o(&opts)
	}
	h := registrytest.Handler(r.Service, opts.HTTP, opts.API, nil)
	db, err := sql.Open("pgx", r.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &env{t: t, h: h, db: db, clock: c, svc: r.Service, store: r.Store, url: r.URL, verifierKey: r.Config.LogVerifierKey}
}

// response is a recorded answer with helpers to read it.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	// Took is how long the router took to answer: the request's own time,
	// without the test's encoding of it or its check of the answer
	// against the OpenAPI document.
	Took time.Duration
}

func (r response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

func (r response) String() string { return fmt.Sprintf("%d %s", r.Status, r.Body) }

// remoteAddr, given as a header name to do, sets the client's address instead.
const remoteAddr = "(remote address)"

// do sends a request; body may be a string (sent as is) or a value (encoded).
func (e *env) do(method, path, token string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case upload:
		rd = bytes.NewReader(b.body)
		headers = append([]string{"Content-Type", b.contentType}, headers...)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, httpapi.BasePath+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == remoteAddr {
			req.RemoteAddr = headers[i+1]
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	start := time.Now()
	e.h.ServeHTTP(w, req)
	took := time.Since(start)
	if e.checkedOnce == nil {
		checkAnswer(e.t, req, w)
	} else if _, seen := e.checkedOnce.LoadOrStore(fmt.Sprint(method, " ", path, " ", w.Code), true); !seen {
		checkAnswer(e.t, req, w)
	}
	return response{Status: w.Code, Header: w.Header(), Body: w.Body.Bytes(), Took: took}
}

// must checks the status of a response and returns its JSON.
func (e *env) must(status int, r response) map[string]any {
	e.t.Helper()
	if r.Status != status {
		e.t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if status == http.StatusNoContent {
		if len(r.Body) != 0 {
			e.t.Fatalf("a 204 with a body: %s", r.Body)
		}
		return nil
	}
	return r.JSON(e.t)
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.QueryRow(query, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// account is an organization with one user and that user's token.
type account struct {
	OrgID, OrgUSCC, UserID, Token string
}

// Valid USCCs for test organizations (check characters computed
// independently of the code under test).
var usccs = []string{
	"91310000132209458L", "91310115MA1K3YJ12G", "911100001000065859", "91310000MA1FL0XQ17",
	"91440300MA5DC6YB00", "91330100MA27XY1235", "91310104MA1FR8T2XM", "91440101MA5CXK8R2T",
}

var accountSeq atomic.Int64

// newAccount creates an organization (by the admin) with a user holding roles.
func (e *env) newAccount(uscc string, roles ...string) account {
	e.t.Helper()
	kind := "enterprise"
	for _, r := range roles {
		if r == "admin" || r == "auditor" {
			// Staff roles are held only in the registry's own organizations.
			kind = "registry"
		}
	}
	org := mustDecode[client.Organization](e, 201, e.do("POST", "/organizations", adminToken, map[string]any{"name": "Org " + uscc, "uscc": uscc, "kind": kind}))
	type made struct{ Name, USCC, Kind string }
	if diff := cmp.Diff(made{"Org " + uscc, uscc, kind}, made{org.Name, org.Uscc, string(org.Kind)}); diff != "" {
		e.t.Fatalf("the organization made (-asked +answered):\n%s", diff)
	}
	return e.newUser(org.Id.String(), uscc, roles...)
}

func (e *env) newUser(orgID, uscc string, roles ...string) account {
	e.t.Helper()
	email := fmt.Sprintf("user%d-%d@example.cn", accountSeq.Add(1), time.Now().UnixNano())
	u := mustDecode[client.User](e, 201, e.do("POST", "/users", adminToken, map[string]any{
		"organization_id": orgID, "email": email, "display_name": "Test User", "roles": roles, "password": "a long enough password",
	}))
	if diff := cmp.Diff([]string{orgID, email}, []string{u.OrganizationId.String(), u.Email}); diff != "" {
		e.t.Fatalf("the user made, organization and email (-asked +answered):\n%s", diff)
	}
	tok := mustDecode[client.IssuedToken](e, 201, e.do("POST", "/tokens", "", map[string]any{"email": email, "password": "a long enough password"}))
	return account{OrgID: orgID, OrgUSCC: uscc, UserID: u.Id.String(), Token: tok.Token}
}

// mustDecode checks an answer's status and reads its JSON into T, one of
// the API's answer types as the generated client has them; a field T does
// not have is an error.
func mustDecode[T any](e *env, status int, r response) T {
	e.t.Helper()
	if r.Status != status {
		e.t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	var v T
	d := json.NewDecoder(bytes.NewReader(r.Body))
	d.DisallowUnknownFields()
	if err := d.Decode(&v); err != nil {
		e.t.Fatalf("the answer is not a %T: %v\n%s", v, err, r.Body)
	}
	return v
}

// filing returns a valid initial registration body with the grantor named.
func filing(grantorName, grantorUSCC string) map[string]any {
	return map[string]any{
		"kind":            "chattel_mortgage",
		"grantors":        []any{map[string]any{"type": "organization", "name": grantorName, "uscc": grantorUSCC, "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"}},
		"secured_parties": []any{map[string]any{"type": "organization", "name": "上海浦东发展银行股份有限公司张江科技支行", "uscc": "91310000132209458L", "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"}},
		"collateral": map[string]any{
			"description": "12 CNC machining centres at the Pudong plant, with all spare parts",
			"items":       []any{map[string]any{"type": "equipment", "serial_number": "DMG-2019-004411", "description": "DMU 50"}},
		},
		"period_months":      36,
		"max_secured_amount": map[string]any{"amount": "5000000.00", "currency": "CNY"},
		"reference":          "LN-2026-0042",
		// The 2021 Measures: the grantor agreed to what is registered.
		"agreed_with_grantor": true,
	}
}

// problem checks a problem+json answer's status and code, and returns it.
func (e *env) problem(r response, status int, code string) map[string]any {
	e.t.Helper()
	if r.Status != status {
		e.t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		e.t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	p := r.JSON(e.t)
	if p["code"] != code {
		e.t.Errorf("code %v, want %s: %s", p["code"], code, r.Body)
	}
	return p
}

// fieldErrors lists a problem's errors as "field code" strings.
func fieldErrors(p map[string]any) []string {
	var out []string
	errs, _ := p["errors"].([]any)
	for _, x := range errs {
		f := x.(map[string]any)
		out = append(out, fmt.Sprint(f["field"], " ", f["code"]))
	}
	return out
}

// httptestGet sends a GET outside the API's base path.
func httptestGet(e *env, path string) response {
	return httptestGetWith(e, path)
}

// httptestGetWith is httptestGet with headers (name, value, ...); an empty
// value is not sent.
func httptestGetWith(e *env, path string, headers ...string) response {
	req := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] != "" {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	return response{Status: w.Code, Header: w.Header(), Body: w.Body.Bytes()}
}

var usccSeq atomic.Int64

// freshUSCC returns a valid USCC that no other call returns: 91 (an
// enterprise), Shanghai's division 310000, nine digits from a counter and the
// time, and the GB 32100-2015 check character, worked out here on its own.
func freshUSCC() string {
	const chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	body := fmt.Sprintf("91310000%09d", (time.Now().UnixNano()/1000+usccSeq.Add(1))%1_000_000_000)
	weight, sum := 1, 0
	for _, c := range body {
		sum += strings.IndexRune(chars, c) * weight
		weight = weight * 3 % 31
	}
	return body + string(chars[(31-sum%31)%31])
}

// upload is a multipart/form-data body holding one file in the part file.
type upload struct {
	contentType string
	body        []byte
}

func fileUpload(name string, data []byte) upload {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	part, _ := w.CreateFormFile("file", name)
	_, _ = part.Write(data)
	_ = w.Close()
	return upload{contentType: w.FormDataContentType(), body: b.Bytes()}
}

// csvUpload is a small CSV file to upload.
var csvUpload = fileUpload("collateral.csv", []byte("serial_number,description\nDMG-1,机床\n"))

// attach uploads data as token's organization's attachment.
func (e *env) attach(token string, data []byte) map[string]any {
	e.t.Helper()
	return e.must(201, e.do("POST", "/attachments", token, fileUpload("file.bin", data)))
}
