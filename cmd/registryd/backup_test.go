package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/movable-registry/registry/internal/pgtest"
)

// backupCluster is a private cluster run by the project's own scripts
// (scripts/pg.sh through make), in a temporary folder with its own port and
// its own pgBackRest repository: what make run, make backup and make
// restore do to var/pg and var/backup, done where a test may destroy it.
type backupCluster struct {
	t      *testing.T
	bin    string // PostgreSQL's server programs
	parent string
	env    []string
	url    string
}

func newBackupCluster(t *testing.T) *backupCluster {
	t.Helper()
	if _, err := exec.LookPath("pgbackrest"); err != nil {
		t.Fatal("pgBackRest is not installed (make test installs it): apt-get install -y pgbackrest")
	}
	bin, err := pgtest.Binaries()
	if err != nil {
		t.Skip(err)
	}
	// Outside the test's own temporary folder, which only its owner may
	// enter: as root, the cluster and the repository belong to postgres.
	parent, err := os.MkdirTemp("", "registry-backup-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	_, port, _ := strings.Cut(freePort(t), ":")
	c := &backupCluster{t: t, bin: bin, parent: parent, env: append(os.Environ(),
		"REGISTRY_PG_DIR="+filepath.Join(parent, "pg"), "REGISTRY_PG_PORT="+port,
		"REGISTRY_BACKUP_REPO="+filepath.Join(parent, "backup"), "REGISTRY_PG_SHARED_BUFFERS_MB=64")}
	t.Cleanup(func() {
		c.pgctl("-m", "immediate", "stop")
		_ = os.RemoveAll(parent)
	})
	c.url = strings.TrimSpace(c.run("../../scripts/pg.sh", "start", "registry"))
	return c
}

func (c *backupCluster) data() string { return filepath.Join(c.parent, "pg", "data") }

// run runs one of the project's gestures (make or a script) on the cluster.
func (c *backupCluster) run(name string, args ...string) string {
	c.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = c.env
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), errs.String())
	}
	c.t.Logf("%s %s: %s", name, strings.Join(args, " "), strings.TrimSpace(errs.String()))
	return out.String()
}

func (c *backupCluster) make(args ...string) string {
	c.t.Helper()
	return c.run("make", append([]string{"-s", "-C", "../.."}, args...)...)
}

// pgctl runs pg_ctl on the cluster's data directory (as postgres when the
// test is root) and says whether it succeeded.
func (c *backupCluster) pgctl(args ...string) bool {
	name := filepath.Join(c.bin, "pg_ctl")
	args = append([]string{"-D", c.data()}, args...)
	if os.Geteuid() == 0 {
		args = append([]string{"-u", "postgres", "--", name}, args...)
		name = "runuser"
	}
	return exec.Command(name, args...).Run() == nil
}

// kill9 kills the postmaster as the machine's end would, and waits (at
// most 30 s) until it and its processes are gone.
func (c *backupCluster) kill9() {
	c.t.Helper()
	pidFile, err := os.ReadFile(filepath.Join(c.data(), "postmaster.pid"))
	if err != nil {
		c.t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.SplitN(string(pidFile), "\n", 2)[0])
	if p, err := os.FindProcess(pid); err != nil || p.Kill() != nil {
		c.t.Fatalf("kill -9 %d: %v", pid, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for c.pgctl("status") {
		if time.Now().After(deadline) {
			c.t.Fatal("the killed postmaster is still there after 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRestoreToAnInstantAndToTheLatest runs registryd on a private cluster
// whose write-ahead log is archived with pgBackRest (scripts/pg.sh), takes a
// backup (make backup), files, records an instant T, files again, stops the
// cluster (make db-stop archives the last segment) and destroys its data
// directory. make restore RESTORE_TARGET=T brings back every filing
// acknowledged before T and none after, and registryctl verify checks the
// log, the registrations and the audit trail of the restored register; the
// verifier's state from before the restore, which saw a longer log, refuses
// it. Then filings on the restored register, a kill -9 of PostgreSQL, and
// make restore RESTORE_TARGET=latest: nothing acknowledged is missing,
// what the repository lacked being read from the old data directory's
// pg_wal, and the register extends the one verified before.
func TestRestoreToAnInstantAndToTheLatest(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster and restores it twice")
	}
	db := newBackupCluster(t)
	keyFile := filepath.Join(t.TempDir(), "log.key")
	if err := keygen([]string{"-name", "test.registry/log", keyFile}, io.Discard); err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{"DATABASE_URL": db.url, "REGISTRY_LOG_KEY_FILE": keyFile, "REGISTRY_SHUTDOWN_GRACE": "0s",
		"REGISTRY_RATE_PER_ADDRESS": "off", "REGISTRY_RATE_PER_TOKEN": "off"}
	addr, admin, stop := startServerWith(t, settings)
	base := "http://" + addr
	c := &caller{t: t}
	clerk := bankClerk(c, base, admin, `"registrant","searcher"`)
	auditor := staffAuditor(c, base, admin)
	file := func(what string, n int) []string {
		var numbers []string
		for i := range n {
			numbers = append(numbers, c.json("POST", base+"/api/v1/registrations", clerk, filingBody(fmt.Sprintf("设备 %s %d", what, i)), 201)["number"].(string))
		}
		return numbers
	}
	ctl := filepath.Join(buildRegistryctl(t), "registryctl")
	verify := func(state string) (string, error) {
		out, err := exec.Command(ctl, "verify", "-url", base, "-token", auditor, "-state", state).CombinedOutput()
		return string(out), err
	}

	begun := time.Now()
	db.make("backup")
	backedUp := time.Since(begun)
	// make backup records the backup where registryd's /metrics reads it.
	func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, db.url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var kind, repo string
		if err := conn.QueryRow(ctx, "SELECT kind, repository FROM backups ORDER BY finished_at DESC LIMIT 1").Scan(&kind, &repo); err != nil || kind != "full" || repo != "repo1" {
			t.Errorf("the backup was not recorded for /metrics: %q %q %v", kind, repo, err)
		}
	}()
	before := file("before", 15)
	// T falls in a whole second after the last acknowledgement, and the
	// next filing waits a second more: the restore's target is exact.
	at := time.Now().Add(time.Second).Truncate(time.Second)
	time.Sleep(time.Until(at.Add(time.Second)))
	after := file("after", 15)
	stateAfter := filepath.Join(t.TempDir(), "seen-after.json")
	// The verifier waits for a checkpoint that covers every filing.
	waitFor(t, "a checkpoint of the longer log", func() bool {
		out, err := verify(stateAfter)
		return err == nil && strings.Contains(out, fmt.Sprintf(": %d events,", len(before)+len(after)))
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	db.make("db-stop")
	if err := os.RemoveAll(db.data()); err != nil {
		t.Fatal(err)
	}

	begun = time.Now()
	db.make("restore", "RESTORE_TARGET="+at.UTC().Format(time.RFC3339))
	restoredAt := time.Since(begun)
	addr, _, stop = startServerWith(t, settings)
	base = "http://" + addr
	for _, n := range before {
		if status, out := c.do("GET", base+"/api/v1/registrations/"+n, clerk, ""); status != 200 {
			t.Errorf("filing %s, acknowledged before T, after the restore to T: %d %s", n, status, out)
		}
	}
	for _, n := range after {
		if status, _ := c.do("GET", base+"/api/v1/registrations/"+n, clerk, ""); status != 404 {
			t.Errorf("filing %s, made after T, after the restore to T: %d, want 404", n, status)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	checkRestored := func(acknowledged []string) {
		conn, err := pgx.Connect(ctx, db.url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		checkRegister(t, ctx, conn, acknowledged, func(string) string { return "after the restore" })
	}
	checkRestored(before)
	state := filepath.Join(t.TempDir(), "seen.json")
	if out, err := verify(state); err != nil {
		t.Errorf("registryctl verify on the register restored to T: %v\n%s", err, out)
	}
	// A verifier that saw the longer log's checkpoint is told the restored
	// one does not extend it.
	if out, err := verify(stateAfter); err == nil {
		t.Errorf("registryctl verify with the state of the longer log accepted the shorter one:\n%s", out)
	} else if want := fmt.Sprintf("positions %d–%d (%d events) are missing", len(before), len(before)+len(after)-1, len(after)); !strings.Contains(out, want) {
		t.Errorf("registryctl verify does not say which log positions the restore lost: %v\n%s", err, tail(out, 15))
	} else {
		t.Logf("registryctl verify with the state of the longer log: %v\n%s", err, tail(out, 15))
	}

	// Latest, after kill -9: what was acknowledged on the restored
	// register since is back, including what the repository had not yet
	// received (the old data directory's pg_wal).
	more := file("latest", 15)
	db.kill9()
	if err := stop(); err != nil {
		t.Logf("registryd stopped with the database gone: %v", err)
	}
	begun = time.Now()
	db.make("restore", "RESTORE_TARGET=latest")
	restoredLatest := time.Since(begun)
	addr, _, _ = startServerWith(t, settings)
	base = "http://" + addr
	checkRestored(append(append([]string(nil), before...), more...))
	for _, n := range more {
		if status, out := c.do("GET", base+"/api/v1/registrations/"+n, clerk, ""); status != 200 {
			t.Errorf("filing %s, acknowledged before the kill -9, after the restore to the latest: %d %s", n, status, out)
		}
	}
	if out, err := verify(state); err != nil {
		t.Errorf("registryctl verify (extending what it verified after the first restore): %v\n%s", err, out)
	}
	asides, _ := filepath.Glob(filepath.Join(db.parent, "pg", "data.before-restore-*"))
	if len(asides) != 1 {
		t.Errorf("old data directories kept aside: %v, want the one of the kill -9", asides)
	}
	t.Logf("backup %s; restore to T %s, to the latest %s (each with recovery and start)",
		backedUp.Round(time.Millisecond), restoredAt.Round(time.Millisecond), restoredLatest.Round(time.Millisecond))
}
