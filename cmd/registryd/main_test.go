package main

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/certpdf"
	"github.com/movable-registry/registry/internal/pgtest"
	"github.com/movable-registry/registry/internal/registrytest"
)

// startServer runs registryd in this process on a fresh database and returns
// its address and a function that stops it and returns run's error.
func startServer(t *testing.T) (addr, admin string, stop func() error) {
	t.Helper()
	return startServerWith(t, map[string]string{"REGISTRY_SHUTDOWN_GRACE": "0s"})
}

// startServerWith is startServer with more settings in its environment.
func startServerWith(t *testing.T, extra map[string]string) (addr, admin string, stop func() error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = l.Addr().String()
	l.Close()
	admin = "readme-example-admin-token-0123456789abcdef"
	keyFile := filepath.Join(t.TempDir(), "log.key")
	if err := keygen([]string{"-name", "test.registry/log", keyFile}, io.Discard); err != nil {
		t.Fatal(err)
	}
	certKey, cert := filepath.Join(t.TempDir(), "cert.key"), filepath.Join(t.TempDir(), "cert.crt")
	if err := keygenCert([]string{certKey, cert}, io.Discard); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"REGISTRY_LOG_KEY_FILE": keyFile, "REGISTRY_CERT_SIGNING_KEY": certKey, "REGISTRY_CERT_SIGNING_CERT": cert,
		"DATABASE_URL": pgtest.URL(t), "REGISTRY_ADDR": addr, "REGISTRY_ADMIN_TOKEN": admin,
		"REGISTRY_CONFIG": "../../configs/registry.yaml", "REGISTRY_METRICS_TOKEN": metricsToken,
		// Tests run beside others on one PostgreSQL server: a small pool.
		"REGISTRY_DATABASE_MAX_CONNS": "8",
	}
	maps.Copy(env, extra)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		var logTo io.Writer = io.Discard
		if os.Getenv("TEST_LOG") != "" {
			logTo = os.Stderr
		}
		done <- run(ctx, slog.New(slog.NewTextHandler(logTo, nil)), nil, func(k string) string { return env[k] })
	}()
	waitServing(t, addr, done, func() string { return "" })
	var stopped bool
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { _ = stop() })
	return addr, admin, stop
}

// metricsToken is what /metrics asks the test's scraper for.
const metricsToken = "metrics-scraper-token-0123456789abcdef"

// buildRegistryctl gives a folder of the test's holding registryctl (a
// link to the one built for the package's tests).
func buildRegistryctl(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Symlink(registrytest.Program(t, "registryctl"), filepath.Join(dir, "registryctl")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	registrytest.RemovePrograms()
	pgtest.Close()
	os.Exit(code)
}

// TestGracefulShutdown stops the server while a request is in flight: the
// request is answered, then run returns without error.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	addr, admin, stop := startServer(t)
	// A slow client: the request body arrives after shutdown has begun.
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", "http://"+addr+"/api/v1/organizations", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+admin)
	type result struct {
		status int
		err    error
	}
	res := make(chan result, 1)
	go func() {
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			res <- result{0, err}
			return
		}
		r.Body.Close()
		res <- result{r.StatusCode, nil}
	}()
	if _, err := pw.Write([]byte(`{"name":"上海星辰精密机械有限公司",`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	time.Sleep(200 * time.Millisecond)
	if _, err := pw.Write([]byte(`"uscc":"91310115MA1K3YJ12G","kind":"enterprise"}`)); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	r := <-res
	if r.err != nil || r.status != 201 {
		t.Fatalf("request in flight during shutdown: status %d, error %v", r.status, r.err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("run returned %v", err)
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Error("the server still answers after shutdown")
	}
}

// registryd healthcheck is the container's HEALTHCHECK: 0 against a live
// registryd, an error against nothing.
func TestHealthcheck(t *testing.T) {
	t.Parallel()
	addr, _, stop := startServer(t)
	env := func(k string) string { return map[string]string{"REGISTRY_ADDR": addr}[k] }
	if err := run(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), []string{"healthcheck"}, env); err != nil {
		t.Errorf("against a live registryd: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), []string{"healthcheck"}, env); err == nil {
		t.Error("against a stopped registryd: no error")
	}
}

// On SIGTERM an instance drains: /readyz answers 503 at once while every
// request is still served for shutdown_grace; then it stops taking them.
func TestDraining(t *testing.T) {
	t.Parallel()
	addr, _, stop := startServerWith(t, map[string]string{"REGISTRY_SHUTDOWN_GRACE": "2s"})
	get := func(path string) int {
		r, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0
		}
		r.Body.Close()
		return r.StatusCode
	}
	if got := get("/readyz"); got != 200 {
		t.Fatalf("/readyz before the signal: %d", got)
	}
	stopped := make(chan error, 1)
	start := time.Now()
	go func() { stopped <- stop() }()
	deadline := time.Now().Add(time.Second)
	for get("/readyz") != http.StatusServiceUnavailable {
		if time.Now().After(deadline) {
			t.Fatal("/readyz did not turn 503 after the signal")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := get("/healthz"); got != 200 {
		t.Errorf("/healthz while draining: %d, want 200", got)
	}
	if got := get("/api/v1/log/key"); got != 200 {
		t.Errorf("the API while draining: %d, want 200", got)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Errorf("stopped after %v, before its grace of 2 s", took)
	}
	if got := get("/healthz"); got != 0 {
		t.Errorf("after stopping, /healthz answered %d", got)
	}
}

// TestKeygenCert: registryd keygen-cert writes a key (readable by its owner
// only) and a certificate that sign certificates together, and never
// overwrites a file.
func TestKeygenCert(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key, cert := filepath.Join(dir, "k.pem"), filepath.Join(dir, "c.pem")
	if err := keygenCert([]string{"-name", "Test Registry", key, cert}, io.Discard); err != nil {
		t.Fatal(err)
	}
	s, err := certpdf.LoadSigner(key, cert)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Certificate().Subject.CommonName; got != "Test Registry" {
		t.Errorf("the certificate names %q", got)
	}
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the key's mode is %v (%v)", fi.Mode().Perm(), err)
	}
	if err := keygenCert([]string{key, filepath.Join(dir, "other.pem")}, io.Discard); err == nil {
		t.Error("keygen-cert overwrote a key")
	}
	if err := keygenCert([]string{key}, io.Discard); err == nil {
		t.Error("keygen-cert with one file was accepted")
	}
}

// waitServing waits, up to 40 s (a fresh cluster on a loaded machine), for
// the registryd at addr to answer /readyz with 200; if it stops first
// (stopped), or the time runs out, the test fails with output().
func waitServing(t *testing.T, addr string, stopped <-chan error, output func() string) {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for {
		r, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return
			}
		}
		select {
		case err := <-stopped:
			t.Fatalf("registryd stopped: %v\n%s", err, output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("registryd did not become ready:\n%s", output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
