package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/movable-registry/registry/internal/pgtest"
	"github.com/movable-registry/registry/internal/postgres"
	"github.com/movable-registry/registry/internal/translog"
)

// TestMigrationsGoDownAndUp undoes every migration and applies them again,
// so that each Down section is known to work.
func TestMigrationsGoDownAndUp(t *testing.T) {
	db, err := sql.Open("pgx", pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p, err := goose.NewProvider(goose.DialectPostgres, db, postgres.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	down, err := p.DownTo(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	up, err := p.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(down) != len(up) || len(up) < 2 {
		t.Errorf("%d down, %d up", len(down), len(up))
	}
}

// TestMigrationCatchesUpTheLog applies migration 00004 to a register that
// has events already: their tree hashes are written in log order, and an
// objection's deadline is taken from its record.
func TestMigrationCatchesUpTheLog(t *testing.T) {
	url := pgtest.URL(t)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p, err := goose.NewProvider(goose.DialectPostgres, db, postgres.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := p.DownTo(ctx, 3); err != nil {
		t.Fatal(err)
	}
	var records [][]byte
	for i := range 5 {
		typ, data := "initial", `{}`
		if i == 3 {
			typ, data = "objection", `{"statement":"no","lapses_at":"2026-12-26T00:00:00.000000Z"}`
		}
		rec := fmt.Appendf(nil, `{"log_index":%d,"number":"N%d","type":%q,"data":%s}`, i, i, typ, data)
		records = append(records, rec)
		if _, err := db.Exec(`INSERT INTO events (log_index, number, registration_number, type, registered_at, record) VALUES ($1, $2, 'R', $3, now(), $4)`,
			i, fmt.Sprint("N", i), typ, rec); err != nil {
			t.Fatal(err)
		}
	}
	gdb, err := postgres.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if d, err := gdb.DB(); err == nil {
			d.Close()
		}
	})
	if _, err := postgres.Migrate(ctx, gdb); err != nil {
		t.Fatal(err)
	}
	store, err := postgres.New(gdb, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	var mem []tlog.Hash
	reader := tlog.HashReaderFunc(func(ix []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(ix))
		for i, x := range ix {
			out[i] = mem[x]
		}
		return out, nil
	})
	for i, rec := range records {
		hs, err := tlog.StoredHashes(int64(i), rec, reader)
		if err != nil {
			t.Fatal(err)
		}
		mem = append(mem, hs...)
	}
	want, _ := tlog.TreeHash(5, reader)
	got, err := translog.TreeHash(ctx, store, 5)
	if err != nil || got != want {
		t.Errorf("root after catching up %v, %v; want %v", got, err, want)
	}
	var lapses time.Time
	if err := db.QueryRow("SELECT lapses_at FROM objection_deadlines WHERE objection_number = 'N3'").Scan(&lapses); err != nil ||
		!lapses.Equal(time.Date(2026, 12, 26, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("objection deadline %v, %v", lapses, err)
	}
	// Migrating again finds nothing to catch up.
	if _, err := postgres.Migrate(ctx, gdb); err != nil {
		t.Fatal(err)
	}
}
