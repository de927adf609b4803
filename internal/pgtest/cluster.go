package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a PostgreSQL cluster of a test's own, made with this machine's
// server programs in a private folder, stopped and removed when the test
// ends: a primary, or a streaming standby of one.
type Cluster struct {
	t    testing.TB
	bin  string
	Dir  string // the data directory
	Port int
}

// Binaries finds the folder of PostgreSQL's server programs (initdb,
// pg_ctl, pg_basebackup), or says why there is none.
func Binaries() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			d := filepath.Dir(real)
			if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
				return d, nil
			}
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) < version(dirs[j]) })
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "pg_basebackup")); err == nil {
			return dirs[i], nil
		}
	}
	return "", fmt.Errorf("PostgreSQL's server programs (initdb, pg_ctl, pg_basebackup) are not installed: apt-get install -y postgresql")
}

func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// NewCluster makes and starts a primary that accepts replication
// connections from this machine.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	c := newCluster(t)
	c.run("initdb", "-D", c.Dir, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8")
	c.configure()
	c.Start()
	return c
}

// Standby makes a streaming standby of c (pg_basebackup -R) and starts it.
func (c *Cluster) Standby(t testing.TB) *Cluster {
	t.Helper()
	s := newCluster(t)
	if err := os.Remove(s.Dir); err != nil {
		t.Fatal(err)
	}
	s.run("pg_basebackup", "-D", s.Dir, "-R", "-X", "stream", "-c", "fast", "-h", "127.0.0.1", "-p", strconv.Itoa(c.Port), "-U", "postgres")
	s.configure()
	s.Start()
	return s
}

func newCluster(t testing.TB) *Cluster {
	t.Helper()
	bin, err := Binaries()
	if err != nil {
		t.Skip(err)
	}
	// Outside the test's own temporary folder, which only its owner may
	// enter: as root, the server runs as the postgres account. The name
	// carries this process's id: the clusters of a killed run are stopped
	// and removed by the next.
	stopLeftovers.Do(func() { removeLeftoverClusters(bin) })
	parent, err := os.MkdirTemp("", fmt.Sprintf("registry-pg-%d-", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(parent, "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	c := &Cluster{t: t, bin: bin, Dir: dir, Port: freePort(t)}
	c.own(parent)
	t.Cleanup(func() {
		c.Stop()
		_ = os.RemoveAll(parent)
	})
	return c
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// own gives path to the postgres account when the test runs as root.
func (c *Cluster) own(path string) {
	if os.Geteuid() != 0 {
		return
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		c.t.Skip("running as root needs the postgres account to own a cluster: apt-get install -y postgresql")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	_ = filepath.Walk(path, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			err = os.Lchown(p, uid, gid)
		}
		return err
	})
}

// run runs one of the server programs (as postgres when the test is root).
func (c *Cluster) run(program string, args ...string) {
	c.t.Helper()
	name := filepath.Join(c.bin, program)
	if os.Geteuid() == 0 {
		args = append([]string{"-u", "postgres", "--", name}, args...)
		name = "runuser"
	}
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("%s %s: %v\n%s", program, strings.Join(args, " "), err, out.String())
	}
}

// configure sets what a small test cluster needs: its own socket folder,
// few connections' worth of memory, and replication from loopback.
func (c *Cluster) configure() {
	c.t.Helper()
	conf := fmt.Sprintf("\nport = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nshared_buffers = 32MB\nmax_connections = 100\nwal_level = replica\nmax_wal_senders = 4\nhot_standby = on\nhot_standby_feedback = on\nfsync = on\n",
		c.Port, filepath.Dir(c.Dir))
	f, err := os.OpenFile(filepath.Join(c.Dir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(conf); err != nil {
		c.t.Fatal(err)
	}
	hba, err := os.OpenFile(filepath.Join(c.Dir, "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	defer hba.Close()
	if _, err := hba.WriteString("\nhost replication all 127.0.0.1/32 trust\n"); err != nil {
		c.t.Fatal(err)
	}
}

// Start starts the cluster and waits until it takes connections.
func (c *Cluster) Start() {
	c.t.Helper()
	c.run("pg_ctl", "-D", c.Dir, "-l", filepath.Join(filepath.Dir(c.Dir), "server.log"), "-w", "-t", "60", "start")
}

// Stop stops the cluster at once, as a crash would (pg_ctl -m immediate);
// stopping one that is not running does nothing.
func (c *Cluster) Stop() {
	name := filepath.Join(c.bin, "pg_ctl")
	args := []string{"-D", c.Dir, "-m", "immediate", "-w", "stop"}
	if os.Geteuid() == 0 {
		args = append([]string{"-u", "postgres", "--", name}, args...)
		name = "runuser"
	}
	_ = exec.Command(name, args...).Run()
}

// URL is the address of database db on the cluster.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
}

// Exec runs statements on database db of the cluster.
func (c *Cluster) Exec(db, sql string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL(db))
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		c.t.Fatalf("%s: %v", sql, err)
	}
}

// Log is the cluster's server log, for a failing test to show.
func (c *Cluster) Log() string {
	b, _ := os.ReadFile(filepath.Join(filepath.Dir(c.Dir), "server.log"))
	return string(b)
}

var stopLeftovers sync.Once

// removeLeftoverClusters stops and removes the private clusters of test
// processes that no longer run.
func removeLeftoverClusters(bin string) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "registry-pg-*-*"))
	for _, parent := range dirs {
		var pid int
		if _, err := fmt.Sscanf(filepath.Base(parent), "registry-pg-%d-", &pid); err != nil || running(pid) {
			continue
		}
		c := &Cluster{bin: bin, Dir: filepath.Join(parent, "data")}
		if _, err := os.Stat(filepath.Join(c.Dir, "postmaster.pid")); err == nil {
			c.Stop()
		}
		_ = os.RemoveAll(parent)
	}
}

// Promote makes a standby the primary (pg_ctl promote) and waits until it
// takes writes.
func (c *Cluster) Promote() {
	c.t.Helper()
	c.run("pg_ctl", "-D", c.Dir, "-w", "-t", "60", "promote")
}
