package client_test

import (
	"database/sql"

	"bufio"
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/movable-registry/registry/client"
	"github.com/movable-registry/registry/internal/httpapi"
	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/registrytest"
)

// tsDir is the TypeScript worked example: a typed client's day written
// against the types openapi-typescript generates from the OpenAPI document.
const tsDir = "../clients/typescript-check"

// TestATypeScriptDay compiles the TypeScript example with tsc and runs it
// with node against the real router on a fresh database, as a bank's
// clerk: sign in, file (and replay the filing under its Idempotency-Key),
// amend under If-Match, meet a stale If-Match, search and read every page,
// check the certificate, cancel. The clerk's token is rate-limited so that
// the day meets 429 answers and must wait out their Retry-After; the
// search answers one result at a time so that it must page. The test then
// reads back from the register what the day says it did.
func TestATypeScriptDay(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the TypeScript example cannot run (apt-get install -y nodejs npm)")
	}
	for _, tool := range []string{"tsc", "openapi-typescript"} {
		if _, err := os.Stat(filepath.Join(tsDir, "node_modules", ".bin", tool)); err != nil {
			t.Fatalf("%s is not installed in clients/typescript-check: run `npm ci` there (make test does, before the Go tests)", tool)
		}
	}
	buildTypeScript(t)
	noCasts(t)

	// One result an answer: the two loans' search pages.
	r := registrytest.New(t, registrytest.Configure(func(c *registry.Config) { c.MaxResults = 1 }))
	// Seven calls at once, then one every two seconds: the day makes eight
	// calls under the clerk's token within two seconds, and meets a 429.
	srv := httptest.NewServer(registrytest.Handler(r.Service, httpx.Options{}, httpapi.Options{PerToken: httpx.Limit{Rate: 0.5, Burst: 7}}, nil))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	password := bankAndClerk(t, ctx, srv.URL, "ts-clerk@bank.example")

	runCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	day := exec.CommandContext(runCtx, node, "dist/main.js")
	day.Dir = tsDir
	day.Env = append(os.Environ(), "REGISTRY_URL="+srv.URL, "REGISTRY_TOKEN=",
		"REGISTRY_EMAIL=ts-clerk@bank.example", "REGISTRY_PASSWORD="+password, "REGISTRY_RUN=ts1")
	var stdout, stderr bytes.Buffer
	day.Stdout, day.Stderr = &stdout, &stderr
	start := time.Now()
	if err := day.Run(); err != nil {
		t.Fatalf("node dist/main.js: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	took := time.Since(start)
	out := stdout.String()
	t.Logf("the day took %s:\n%s", took.Round(time.Millisecond), out)

	m := regexp.MustCompile(`(?m)^filed (\d{20}): effective, version 1,`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the day does not say what it filed:\n%s", out)
	}
	number := m[1]
	for _, want := range []string{
		"signed in until ",
		"the same filing again: " + number + ", Idempotent-Replayed true\n",
		"amended " + number + " to version 2: equipment LATHE-ts1, vehicle VIN-ts1\n",
		"a stale If-Match: 412 version_mismatch\n",
		"read 2 of 2 in 2 answers\n",
		"certificate " + number + ": registration chattel_mortgage effective sha256:",
		"cancelled " + number + ": cancelled, version 3\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the day's output lacks %q", want)
		}
	}
	// Each 429 was waited out for as long as its Retry-After said (one or
	// two seconds, rounded up from the bucket's refill).
	retried, waited := 0, time.Duration(0)
	retry := regexp.MustCompile(`^retry: (GET|POST) /\S+ answered 429: sent again after ([12]) s$`)
	for sc := bufio.NewScanner(strings.NewReader(out)); sc.Scan(); {
		if strings.HasPrefix(sc.Text(), "retry: ") {
			m := retry.FindStringSubmatch(sc.Text())
			if m == nil {
				t.Errorf("a retry: %s", sc.Text())
				continue
			}
			retried++
			waited += time.Duration(m[2][0]-'0') * time.Second
		}
	}
	if retried == 0 {
		t.Errorf("the day met no 429 (it ran its calls too slowly for the limit?):\n%s", out)
	}
	if took < waited {
		t.Errorf("the day took %s, yet says it waited %s", took, waited)
	}

	// The register holds what the day says: two registrations (the replay
	// filed nothing), the first cancelled after one amendment.
	db, err := sql.Open("pgx", r.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var count int64
	if err := db.QueryRow("SELECT count(*) FROM registrations").Scan(&count); err != nil || count != 2 {
		t.Errorf("%d registrations (%v), want 2", count, err)
	}
	op, err := client.New(srv.URL, adminToken)
	if err != nil {
		t.Fatal(err)
	}
	got, err := op.GetRegistrationWithResponse(ctx, number)
	if err != nil || got.JSON200 == nil {
		t.Fatalf("GET /registrations/%s: %v %s", number, err, got.Body)
	}
	if r := got.JSON200; r.Status != client.RegistrationStatusCancelled || r.Version != 3 || len(r.Collateral.Items) != 2 {
		t.Errorf("registration %s: %s, version %d, %d items", number, r.Status, r.Version, len(r.Collateral.Items))
	}
}

// buildTypeScript regenerates the types from the OpenAPI document and
// compiles the example into dist/ when either is older than what it is
// made from (make test has just built both; a change since rebuilds).
func buildTypeScript(t *testing.T) {
	t.Helper()
	newest := func(globs ...string) time.Time {
		var at time.Time
		for _, g := range globs {
			files, _ := filepath.Glob(filepath.Join(tsDir, g))
			for _, f := range files {
				if st, err := os.Stat(f); err == nil && st.ModTime().After(at) {
					at = st.ModTime()
				}
			}
		}
		return at
	}
	oldest := func(files ...string) time.Time {
		var at time.Time
		for i, f := range files {
			st, err := os.Stat(filepath.Join(tsDir, f))
			if err != nil {
				return time.Time{}
			}
			if i == 0 || st.ModTime().Before(at) {
				at = st.ModTime()
			}
		}
		return at
	}
	run := func(name string, args ...string) {
		cmd := exec.Command(filepath.Join("node_modules", ".bin", name), args...)
		cmd.Dir = tsDir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	if !newest("../../internal/httpapi/openapi.yaml").Before(oldest("generated/api.d.ts")) {
		run("openapi-typescript", "../../internal/httpapi/openapi.yaml", "-o", "generated/api.d.ts")
	}
	if !newest("src/*.ts", "generated/api.d.ts", "tsconfig.json", "package.json").Before(oldest("dist/day.js", "dist/main.js")) {
		run("tsc", "-p", ".")
	}
}

// noCasts fails on a type assertion (x as T) or an any in the example's
// source: its types must come from the document, not be asserted.
func noCasts(t *testing.T) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(tsDir, "src", "*.ts"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no TypeScript in %s/src: %v", tsDir, err)
	}
	cast := regexp.MustCompile(`\bas\s+[A-Za-z_{\[(]|\bany\b|<any>`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			code, _, _ := strings.Cut(line, "//")
			if cast.MatchString(code) {
				t.Errorf("%s:%d: a cast or an any: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}
