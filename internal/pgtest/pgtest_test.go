package pgtest_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
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
