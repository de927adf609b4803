package pgtest_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/movable-registry/registry/internal/pgtest"
)

// TestRemoveLeftovers: the database of a test process that is gone is
// dropped; one of a process that runs (this one) is kept.
func TestRemoveLeftovers(t *testing.T) {
	_ = pgtest.URL(t) // the server answers
	admin, err := sql.Open("pgx", pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	dead := fmt.Sprintf("registry_test_%d_0dead0", gone.Process.Pid)
	live := fmt.Sprintf("registry_test_%d_0live0", os.Getpid())
	for _, name := range []string{dead, live} {
		if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
			t.Fatal(err)
		}
	}
	defer admin.Exec("DROP DATABASE IF EXISTS " + live) //nolint:errcheck
	defer admin.Exec("DROP DATABASE IF EXISTS " + dead) //nolint:errcheck
	if err := pgtest.RemoveLeftovers(context.Background(), admin); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{dead: false, live: true} {
		var exists bool
		if err := admin.QueryRow("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if exists != want {
			t.Errorf("%s: exists %v, want %v", name, exists, want)
		}
	}
}

// TestDatabasesUsedAgain: a test's database goes to a later test emptied to
// the template's rows and sequences, under another name that the first
// test's connections cannot reach; one whose schema a test changed is
// dropped, not used again.
func TestDatabasesUsedAgain(t *testing.T) {
	var firstOID, firstContents string
	var leftOpen *sql.DB
	t.Run("fills", func(t *testing.T) {
		db := open(t, pgtest.URL(t))
		firstOID, firstContents = oid(t, db), contents(t, db)
		for _, stmt := range []string{
			"UPDATE register_head SET seq = seq + 5",
			"DELETE FROM goose_db_version WHERE version_id = (SELECT max(version_id) FROM goose_db_version)",
			"SELECT nextval('parties_id_seq')",
			"CREATE TEMP TABLE scratch (v int)", // gone with its session
		} {
			if _, err := db.Exec(stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		if contents(t, db) == firstContents {
			t.Fatal("the changes did not change the contents")
		}
		leftOpen = db
	})
	defer leftOpen.Close()
	if err := leftOpen.Ping(); err == nil {
		t.Error("a connection the first test left open still reaches its database")
	}
	var changedOID string
	t.Run("finds it as new", func(t *testing.T) {
		db := open(t, pgtest.URL(t))
		if got := oid(t, db); got != firstOID {
			t.Fatalf("database %s, not the first test's %s: not used again", got, firstOID)
		}
		if got := contents(t, db); got != firstContents {
			t.Errorf("contents differ from a fresh copy's:\n%s\nwant\n%s", got, firstContents)
		}
		if _, err := db.Exec("ALTER TABLE events DISABLE TRIGGER events_append_only"); err != nil {
			t.Fatal(err)
		}
		changedOID = oid(t, db)
	})
	t.Run("not given a changed schema", func(t *testing.T) {
		db := open(t, pgtest.URL(t))
		if oid(t, db) == changedOID {
			t.Fatal("a database whose schema a test changed was used again")
		}
	})
	var gone bool
	admin := open(t, pgtest.AdminURL())
	if err := admin.QueryRow("SELECT NOT EXISTS (SELECT 1 FROM pg_database WHERE oid = $1::oid)", changedOID).Scan(&gone); err != nil {
		t.Fatal(err)
	}
	if !gone {
		t.Error("the database whose schema a test changed is still on the server")
	}
}

func open(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func oid(t *testing.T, db *sql.DB) string {
	t.Helper()
	var oid string
	if err := db.QueryRow("SELECT oid::text FROM pg_database WHERE datname = current_database()").Scan(&oid); err != nil {
		t.Fatal(err)
	}
	return oid
}

// contents is every table's rows and every sequence's position.
func contents(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query(`SELECT format('SELECT %L || coalesce(json_agg(t ORDER BY t::text)::text, ''[]'') FROM %I.%I t', c.relname, n.nspname, c.relname)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname = 'public'
		UNION ALL SELECT format('SELECT %L || last_value || is_called FROM %I.%I', c.relname, n.nspname, c.relname)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var queries []string
	for rows.Next() {
		var q string
		if err := rows.Scan(&q); err != nil {
			t.Fatal(err)
		}
		queries = append(queries, q)
	}
	rows.Close()
	var out []string
	for _, q := range queries {
		var s string
		if err := db.QueryRow(q).Scan(&s); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		out = append(out, s)
	}
	return strings.Join(out, "\n")
}
