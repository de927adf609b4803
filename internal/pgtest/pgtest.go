// Package pgtest gives each test a migrated PostgreSQL database of its own,
// as a fresh copy of the template holds it.
//
// It finds the server through TEST_DATABASE_URL (set by `make test`), or else
// tries 127.0.0.1:5432. A migrated template database, named after the
// migrations' content, is made once and copied; a copy a test is done with
// is emptied and given to the process's next test (pool.go).
package pgtest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sync"
	"syscall"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"gorm.io/gorm"

	"github.com/movable-registry/registry/internal/postgres"
)

const defaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var (
	once     sync.Once
	template string
	setupErr error
)

// AdminURL is the server's maintenance database, where test databases are
// made and dropped.
func AdminURL() string { return adminURL() }

func adminURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return defaultURL
}

func withDatabase(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	u.Path = "/" + name
	return u.String()
}

func migrationsDigest() string {
	h := sha256.New()
	_ = fs.WalkDir(postgres.Migrations(), ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(postgres.Migrations(), path)
			h.Write([]byte(path))
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func setup() (string, error) {
	admin, err := sql.Open("pgx", adminURL())
	if err != nil {
		return "", err
	}
	defer admin.Close()
	ctx := context.Background()
	if err := admin.PingContext(ctx); err != nil {
		return "", fmt.Errorf("no PostgreSQL at %s (run the tests with `make test`, which finds or starts one): %w", adminURL(), err)
	}
	name := "registry_tpl_" + migrationsDigest()
	if err := RemoveLeftovers(ctx, admin); err != nil {
		return "", fmt.Errorf("removing the databases of killed test runs: %w", err)
	}
	conn, err := admin.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	// Test binaries of several packages run at once: one makes the template.
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(74221)"); err != nil {
		return "", err
	}
	defer conn.ExecContext(ctx, "SELECT pg_advisory_unlock(74221)") //nolint:errcheck
	var exists bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	tmp := name + "_new"
	if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+tmp+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+tmp+" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"); err != nil {
		return "", err
	}
	db, err := postgres.Open(withDatabase(adminURL(), tmp))
	if err != nil {
		return "", err
	}
	_, err = postgres.Migrate(ctx, db)
	if sqlDB, e := db.DB(); e == nil {
		sqlDB.Close()
	}
	if err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+tmp+" RENAME TO "+name); err != nil {
		return "", err
	}
	return name, nil
}

// URL gives t a migrated database of its own, as the template made it, and
// returns its connection URL. When t ends the database goes back to the
// process's pool, emptied (see recycle), or is dropped when t changed its
// schema.
func URL(t testing.TB) string {
	t.Helper()
	once.Do(func() { template, setupErr = setup() })
	if setupErr != nil {
		t.Fatalf("pgtest: %v", setupErr)
	}
	name, err := take(t.Context())
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := recycle(name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return withDatabase(adminURL(), name)
}

// MaxConns bounds the pool Open gives a test unless it asks for another
// size. Tests run in parallel, several packages at once, on one server
// whose max_connections (100 by default) they share: a test's pool of
// postgres.Open's default 32 would let a few racing tests take them all.
const MaxConns = 4

// Open creates a fresh, migrated database for t and returns its URL and a
// GORM connection to it (through postgres.Open, with a pool of MaxConns
// unless opts say otherwise), closed when t ends.
func Open(t testing.TB, opts ...postgres.OpenOption) (string, *gorm.DB) {
	t.Helper()
	url := URL(t)
	db, err := postgres.Open(url, append([]postgres.OpenOption{postgres.MaxConns(MaxConns)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
	return url, db
}

// RemoveLeftovers drops the test databases that a test process left behind
// when it was killed before its cleanup ran: those named for a process that
// no longer runs on this machine, with no session open on them. (A server
// that several machines' test runs share could see a process id free here
// and live there: give each machine its own.)
func RemoveLeftovers(ctx context.Context, admin *sql.DB) error {
	rows, err := admin.QueryContext(ctx, `SELECT d.datname FROM pg_database d
		WHERE d.datname ~ '^registry_test_[0-9]+_[0-9a-f]+$'
		AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)`)
	if err != nil {
		return err
	}
	var stale []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		var pid int
		if _, err := fmt.Sscanf(name, "registry_test_%d_", &pid); err == nil && !running(pid) {
			stale = append(stale, name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, name := range stale {
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return err
		}
	}
	return nil
}

// running reports whether a process with id pid runs on this machine.
func running(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
