package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/pgtest"
	"github.com/movable-registry/registry/internal/postgres"
	"github.com/movable-registry/registry/internal/registry"
)

// TestStatementsEndWithTheirContext: a statement whose context ends is
// cancelled in PostgreSQL (a cancel request), not left running on a closed
// connection; one that runs past statement_timeout is cancelled by the
// server. Both are errors the API answers 503.
func TestStatementsEndWithTheirContext(t *testing.T) {
	url := pgtest.URL(t)
	db, err := postgres.Open(url, postgres.StatementTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	defer sqlDB.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = db.WithContext(ctx).Exec("SELECT pg_sleep(20) AS cancelled_with_its_context").Error
	if err == nil || time.Since(start) > 3*time.Second || !registry.Unavailable(err) {
		t.Fatalf("a statement past its context's end: %v after %s", err, time.Since(start))
	}
	running := func(marker string) bool {
		var n int
		if err := db.Raw("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE ? AND pid <> pg_backend_pid()", "%"+marker+"%").Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	for deadline := time.Now().Add(time.Second); running("cancelled_with_its_context"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the statement still runs in PostgreSQL after its context ended")
		}
	}
	err = db.Exec("SELECT pg_sleep(5) AS past_statement_timeout").Error
	if err == nil || !registry.Unavailable(err) || !errors.Is(err, registry.ErrStoreUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a statement past statement_timeout: %v", err)
	}
}
