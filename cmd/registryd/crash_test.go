package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/movable-registry/registry/internal/pgtest"
)

// TestDatabaseCrashLosesNoAcknowledgedFiling stops PostgreSQL as a crash
// would (pg_ctl -m immediate) while sixteen clients file: the sequencer's
// batches commit without waiting for the disk and are answered only after
// a flush barrier, so every filing answered 201 before the crash must be
// in the register once the database is back, and registryd must serve
// again without a restart.
func TestDatabaseCrashLosesNoAcknowledgedFiling(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	db := pgtest.NewCluster(t)
	db.Exec("postgres", "CREATE DATABASE registry")
	addr, admin, _ := startServerWith(t, map[string]string{
		"DATABASE_URL": db.URL("registry"), "REGISTRY_SHUTDOWN_GRACE": "0s",
		"REGISTRY_RATE_PER_ADDRESS": "off", "REGISTRY_RATE_PER_TOKEN": "off",
	})
	base := "http://" + addr
	c := &caller{t: t}
	token := bankClerk(c, base, admin, `"registrant"`)

	var mu sync.Mutex
	var acknowledged []string
	statuses := map[int]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for k := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := filingBody(fmt.Sprintf("设备 %d-%d", k, i))
				status, out := c.do("POST", base+"/api/v1/registrations", token, body)
				mu.Lock()
				statuses[status]++
				if status == 201 {
					var r struct{ Number string }
					_ = json.Unmarshal(out, &r)
					acknowledged = append(acknowledged, r.Number)
				}
				mu.Unlock()
				if status != 201 {
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	db.Stop()
	mu.Lock()
	before := len(acknowledged)
	mu.Unlock()
	time.Sleep(time.Second)
	db.Start()
	// Served again without a restart of registryd.
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		after := len(acknowledged)
		mu.Unlock()
		if after > before+20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("registryd did not file again within 10 s of the database's return (%v)", statuses)
		}
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if before < 50 {
		t.Fatalf("only %d filings acknowledged before the crash", before)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, db.URL("registry"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT number FROM events")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		have[n] = true
	}
	rows.Close()
	lost := 0
	for _, n := range acknowledged {
		if !have[n] {
			lost++
			if lost < 5 {
				t.Errorf("filing %s was acknowledged and is not in the register", n)
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged filings lost", lost, len(acknowledged))
	}
	var gaps int64
	if err := conn.QueryRow(ctx, "SELECT count(*) - (max(log_index) + 1) FROM events").Scan(&gaps); err != nil {
		t.Fatal(err)
	}
	if gaps != 0 {
		t.Errorf("the log's positions have %d gaps or repeats", -gaps)
	}
	t.Logf("%d filings acknowledged (%d before the crash), none lost; answers by status: %v", len(acknowledged), before, statuses)
}
