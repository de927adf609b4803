package postgres_test

import (
	"context"
	"database/sql"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/movable-registry/registry/internal/pgtest"
	"github.com/movable-registry/registry/internal/postgres"
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
