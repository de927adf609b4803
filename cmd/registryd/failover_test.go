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

// TestFailoverToASynchronousStandby runs registryd on a primary with a
// synchronous standby (synchronous_standby_names = '*'), both named in
// DATABASE_URL with target_session_attrs=read-write. Eight clients file;
// the primary is stopped as a crash would, and the standby promoted:
// registryd files again on it without a restart, and every filing
// acknowledged before, during and after is on the new primary, the log
// without gaps and its stored tree the records' own. (A batch commits
// without waiting, but its answer waits for the flush barrier, which with
// a synchronous standby waits for the standby's flush too. With an
// asynchronous standby, what the standby had not received when the primary
// died is lost: writes acknowledged in the last moments before a failover.)
func TestFailoverToASynchronousStandby(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts two PostgreSQL clusters")
	}
	primary := pgtest.NewCluster(t)
	primary.Exec("postgres", "CREATE DATABASE registry")
	standby := primary.Standby(t)
	primary.Exec("postgres", "ALTER SYSTEM SET synchronous_standby_names = '*'")
	primary.Exec("postgres", "SELECT pg_reload_conf()")
	ctx := context.Background()
	waitFor(t, "the standby to be synchronous", func() bool {
		conn, err := pgx.Connect(ctx, primary.URL("postgres"))
		if err != nil {
			return false
		}
		defer conn.Close(ctx)
		var state string
		return conn.QueryRow(ctx, "SELECT sync_state FROM pg_stat_replication LIMIT 1").Scan(&state) == nil && state == "sync"
	})
	both := fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/registry?sslmode=disable&target_session_attrs=read-write",
		primary.Port, standby.Port)
	addr, admin, _ := startServerWith(t, map[string]string{"DATABASE_URL": both, "REGISTRY_SHUTDOWN_GRACE": "0s",
		"REGISTRY_RATE_PER_ADDRESS": "off", "REGISTRY_RATE_PER_TOKEN": "off"})
	base := "http://" + addr
	c := &caller{t: t}
	token := bankClerk(c, base, admin, `"registrant"`)

	var mu sync.Mutex
	var acknowledged []string
	statuses := map[int]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for k := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				status, out := c.do("POST", base+"/api/v1/registrations", token, filingBody(fmt.Sprintf("设备 %d-%d", k, i)))
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
	primary.Stop()
	mu.Lock()
	before := len(acknowledged)
	mu.Unlock()
	failedAt := time.Now()
	standby.Promote()
	var again time.Duration
	for {
		mu.Lock()
		after := len(acknowledged)
		mu.Unlock()
		if after > before+10 {
			again = time.Since(failedAt)
			break
		}
		if time.Since(failedAt) > 30*time.Second {
			close(stop)
			wg.Wait()
			t.Fatalf("registryd did not file on the promoted standby within 30 s (%v)", statuses)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	if before < 20 {
		t.Fatalf("only %d filings acknowledged before the failover", before)
	}
	if statuses[500] > 0 {
		t.Errorf("%d answers 500", statuses[500])
	}

	conn, err := pgx.Connect(ctx, standby.URL("registry"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	checkRegister(t, ctx, conn, acknowledged, func(string) string { return "on the promoted standby" })
	t.Logf("%d filings acknowledged (%d before the primary died), none lost; filing again %s after the failover began; answers %v",
		len(acknowledged), before, again.Round(time.Millisecond), statuses)
}
