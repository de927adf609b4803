package httpx_test

import (
	"context"
	"database/sql"
	"net/http"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"go.uber.org/goleak"

	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/registrytest"
)

// A refusal whose audit entry cannot be written at once (here the audit
// chain's head is held by another transaction) does not hold its answer
// up for long, and its entry is written once the database lets it.
func TestARefusalIsRecordedLateRatherThanLost(t *testing.T) {
	r := registrytest.New(t)
	defer r.Store.Close()
	svc := r.Service
	refusals := httpx.NewRefusals(svc, nil)
	defer refusals.Close(context.Background())
	db, err := sql.Open("pgx", r.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	hold, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hold.Exec("SELECT * FROM audit_head FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	p := httpx.NewProblem(http.StatusForbidden, "forbidden", "held up")
	caller := registry.Caller{Source: "198.51.100.7", RequestID: "late-one"}
	if err := refusals.Record(context.Background(), caller, "registration.read", "x", p, ""); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the refusal waited %v for its entry", took)
	}
	count := func() int {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM audit_entries WHERE request_id = 'late-one' AND detail LIKE '%recorded late%'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 0 {
		t.Fatalf("%d entries while the head is held", n)
	}
	if err := hold.Commit(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); count() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the entry was never written")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The writer of late refusals is the Refusals' own: Close stops it, with
// an entry it still holds given a last try within Close's time (here the
// audit chain's head stays held, so it is lost, and said so), and no
// goroutine of it remains.
func TestRefusalsCloseStopsTheirWriter(t *testing.T) {
	r := registrytest.New(t)
	defer r.Store.Close()
	url, svc := r.URL, r.Service
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	hold, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback()
	if _, err := hold.Exec("SELECT * FROM audit_head FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	before := goleak.IgnoreCurrent()
	refusals := httpx.NewRefusals(svc, nil)
	p := httpx.NewProblem(http.StatusForbidden, "forbidden", "held up")
	caller := registry.Caller{Source: "198.51.100.7", RequestID: "late-at-close"}
	if err := refusals.Record(context.Background(), caller, "registration.read", "x", p, ""); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	refusals.Close(ctx)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Close took %v with its context ending after 500ms", took)
	}
	goleak.VerifyNone(t, before)
	if err := refusals.Record(context.Background(), caller, "registration.read", "x", p, ""); err == nil {
		t.Error("an entry that cannot be written at once after Close was taken, by no writer")
	}
}
