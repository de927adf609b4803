package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/httpapi"
	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/pgtest"
	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/registrytest"
	"github.com/movable-registry/registry/internal/statefile"
	"github.com/movable-registry/registry/internal/translog"
)

// dump takes a pg_dump of the register's database, as a backup would be.
func (r *register) dump() string {
	r.t.Helper()
	file := filepath.Join(r.t.TempDir(), "register.dump")
	if out, err := exec.Command("pg_dump", "-Fc", "-f", file, "-d", r.dbURL).CombinedOutput(); err != nil {
		r.t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	return file
}

// restored is a registry serving a new database restored from dump, with
// the same log key: the register as it is after a restore.
func (r *register) restored(dump string) string {
	r.t.Helper()
	admin, err := sql.Open("pgx", pgtest.AdminURL())
	if err != nil {
		r.t.Fatal(err)
	}
	defer admin.Close()
	// Named as the test databases are, for leftovers to be dropped.
	name := fmt.Sprintf("registry_test_%d_%x", os.Getpid(), time.Now().UnixNano())
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		if a, err := sql.Open("pgx", pgtest.AdminURL()); err == nil {
			_, _ = a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			a.Close()
		}
	})
	u, _ := url.Parse(pgtest.AdminURL())
	u.Path = "/" + name
	if out, err := exec.Command("pg_restore", "--no-owner", "-d", u.String(), dump).CombinedOutput(); err != nil {
		r.t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	_, svc := registrytest.Service(r.t, u.String(), time.Now, r.cfg)
	if _, err := svc.PublishCheckpoint(context.Background()); err != nil {
		r.t.Fatal(err)
	}
	srv := httptest.NewServer(registrytest.Handler(svc, httpx.Options{}, httpapi.Options{}, nil))
	r.t.Cleanup(srv.Close)
	return srv.URL
}

// After a restore to a point before the last checkpoint a verifier pinned,
// verify-checkpoint says that the register does not extend it and names
// the missing log positions exactly; verified before the backup, the
// restored register is consistent with what was pinned then.
func TestVerifyNamesWhatARestoreLost(t *testing.T) {
	t.Parallel()
	r := newRegister(t)
	var n int64
	if err := r.db.QueryRow("SELECT count(*) FROM events").Scan(&n); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "bank.json")
	early := filepath.Join(t.TempDir(), "early.json")
	check := func(url, state string) (int, string) {
		var out, errs bytes.Buffer
		code := run(context.Background(), []string{"verify-checkpoint", "-url", url, "-token", r.bank, "-state", state}, func(string) string { return "" }, &out, &errs)
		return code, out.String() + errs.String()
	}
	if code, out := check(r.url, early); code != 0 {
		t.Fatalf("before the backup: exit %d\n%s", code, out)
	}
	backup := r.dump()
	for i := range 4 {
		r.call("POST", "/registrations", r.bank, filing("上海新晨机械有限公司", "91310115MA1K3YJ12G", fmt.Sprintf("SN-R%d", i)), 201)
	}
	r.publish()
	m := n + 4
	if code, out := check(r.url, state); code != 0 || !strings.Contains(out, fmt.Sprintf("%d events", m)) {
		t.Fatalf("the published checkpoint: exit %d\n%s", code, out)
	}

	url := r.restored(backup)
	code, out := check(url, state)
	want := fmt.Sprintf("the register's log holds %d entries; the checkpoint you pinned (verified ", n)
	positions := fmt.Sprintf("commits to %d entries: positions %d–%d (4 events) are missing", m, n, m-1)
	if code != 1 || !strings.Contains(out, want) || !strings.Contains(out, positions) || !strings.Contains(out, "GET /log/events/{number}") {
		t.Errorf("after the restore: exit %d, want 1 naming positions %d–%d\n%s", code, n, m-1, out)
	}
	// What was pinned before the backup, the restored register extends.
	if code, out := check(url, early); code != 0 {
		t.Errorf("a checkpoint pinned before the backup: exit %d\n%s", code, out)
	}
}

// serve puts a service on the register's database behind a server of its own.
func (r *register) serve(cfg registry.Config) (string, *registry.Service) {
	r.t.Helper()
	_, svc := registrytest.Service(r.t, r.dbURL, time.Now, cfg)
	srv := httptest.NewServer(registrytest.Handler(svc, httpx.Options{}, httpapi.Options{}, nil))
	r.t.Cleanup(srv.Close)
	return srv.URL, svc
}

// A verifier that pinned the old log key follows a deliberate rotation: the
// checkpoint signed by the old key and the new one, which it names, is
// accepted and the new key pinned; once the old key is dropped, the new one
// verifies alone. A new key without a rotation is a finding.
func TestVerifyFollowsAKeyRotation(t *testing.T) {
	t.Parallel()
	r := newRegister(t)
	pin := filepath.Join(t.TempDir(), "bank.json")
	check := func(url string) (int, string) {
		var out, errs bytes.Buffer
		code := run(context.Background(), []string{"verify-checkpoint", "-url", url, "-token", r.bank, "-state", pin}, func(string) string { return "" }, &out, &errs)
		return code, out.String() + errs.String()
	}
	if code, out := check(r.url); code != 0 {
		t.Fatalf("pinned: exit %d\n%s", code, out)
	}
	signer, vkey, err := translog.NewSigner("test.registry/log")
	if err != nil {
		t.Fatal(err)
	}
	// Without the previous key, the new one is refused: nothing is signed.
	wrong := r.cfg
	wrong.LogSigner, wrong.LogVerifierKey = signer, vkey
	_, svc := r.serve(wrong)
	r.call("POST", "/registrations", r.bank, filing("上海新晨机械有限公司", "91310115MA1K3YJ12G", "SN-K1"), 201)
	if _, err := svc.PublishCheckpoint(context.Background()); !errors.Is(err, registry.ErrLogKeyMismatch) {
		t.Fatalf("signing with another key: %v", err)
	}

	rotated := wrong
	rotated.LogPreviousSigner, rotated.LogPreviousVerifierKey = r.cfg.LogSigner, r.cfg.LogVerifierKey
	url, svc := r.serve(rotated)
	if _, err := svc.PublishCheckpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	code, out := check(url)
	if code != 0 || !strings.Contains(out, "the registry rotated its log key") {
		t.Fatalf("the rotation: exit %d\n%s", code, out)
	}
	var st state
	if err := statefile.Load(pin, &st); err != nil || st.VerifierKey != vkey {
		t.Fatalf("pinned after the rotation: %q (%v), want %q", st.VerifierKey, err, vkey)
	}

	url, svc = r.serve(wrong)
	r.call("POST", "/registrations", r.bank, filing("上海新晨机械有限公司", "91310115MA1K3YJ12G", "SN-K2"), 201)
	if _, err := svc.PublishCheckpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, out := check(url); code != 0 || strings.Contains(out, "rotated") {
		t.Fatalf("the new key alone: exit %d\n%s", code, out)
	}
}
