package main

import (
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/pgtest"
)

// TestReadReplica runs registryd on a primary of the test's own with a real
// streaming standby (pg_basebackup -R): reads are served there, a client
// reads its own writes at once, a search never misses an event while the
// standby's replay is paused (and the paused standby is left out once it
// lags), and stopping the standby under load fails no request.
func TestReadReplica(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts two PostgreSQL clusters")
	}
	primary := pgtest.NewCluster(t)
	primary.Exec("postgres", "CREATE DATABASE registry")
	standby := primary.Standby(t)
	addr, admin, _ := startServerWith(t, map[string]string{
		"DATABASE_URL": primary.URL("registry"), "DATABASE_REPLICA_URLS": standby.URL("registry"),
		"REGISTRY_REPLICA_MAX_LAG": "500ms", "REGISTRY_SHUTDOWN_GRACE": "0s",
		"REGISTRY_RATE_PER_ADDRESS": "off", "REGISTRY_RATE_PER_TOKEN": "off",
	})
	base := "http://" + addr
	c := &caller{t: t}
	token := bankClerk(c, base, admin, `"registrant","searcher"`)

	filed := 0
	file := func() string {
		filed++
		body := filingBody(fmt.Sprintf("设备 %d", filed))
		return c.json("POST", base+"/api/v1/registrations", token, body, 201)["number"].(string)
	}
	found := func() int {
		t.Helper()
		r := c.json("POST", base+"/api/v1/searches", token, `{"criteria":{"uscc":"91310115MA1K3YJ12G"}}`, 201)
		return int(r["result_count"].(float64))
	}
	replicaReads := func() float64 {
		t.Helper()
		return metric(t, base, `registry_replica_reads_total{replica="replica-0"}`)
	}
	inUse := func() (bool, string) {
		t.Helper()
		r := c.json("GET", base+"/readyz", "", "", 200)
		rs, _ := r["replicas"].([]any)
		if len(rs) != 1 {
			t.Fatalf("/readyz reports %d replicas: %v", len(rs), r)
		}
		rep := rs[0].(map[string]any)
		e, _ := rep["error"].(string)
		return rep["in_use"] == true, e
	}
	waitInUse := func(want bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got, e := inUse()
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica in use: %v, want %v (%s)", got, want, e)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitInUse(true)

	// Each filing is read back at once: by number, and by a search.
	before := replicaReads()
	for i := range 10 {
		n := file()
		c.json("GET", base+"/api/v1/registrations/"+n, token, "", 200)
		if got := found(); got != i+1 {
			t.Fatalf("a search right after filing %d found %d", i+1, got)
		}
	}
	// Once the standby has caught up, reads go there.
	time.Sleep(500 * time.Millisecond)
	for range 10 {
		if got := found(); got != 10 {
			t.Fatalf("search found %d of 10", got)
		}
	}
	if after := replicaReads(); after <= before {
		t.Fatalf("no read went to the replica (%v reads before, %v after)", before, after)
	}

	// Replay paused: the standby falls behind, and no search misses an
	// event; past replica_max_lag it is left out, and back once resumed.
	standby.Exec("registry", "SELECT pg_wal_replay_pause()")
	for i := range 10 {
		n := file()
		c.json("GET", base+"/api/v1/registrations/"+n, token, "", 200)
		if got := found(); got != 11+i {
			t.Fatalf("with the replica paused, a search after filing %d found %d", 11+i, got)
		}
	}
	waitInUse(false)
	standby.Exec("registry", "SELECT pg_wal_replay_resume()")
	waitInUse(true)

	// The standby stopped while eight clients file and search: no request fails.
	var failed, done atomic.Int64
	var mu sync.Mutex
	var failures []string
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
				method, path, body, want := "POST", "/api/v1/searches", `{"criteria":{"uscc":"91310115MA1K3YJ12G"}}`, 201
				if (i+k)%3 == 0 {
					path = "/api/v1/registrations"
					body = filingBody(fmt.Sprintf("负载 %d-%d", k, i))
				}
				status, out := c.do(method, base+path, token, body)
				done.Add(1)
				if status != want {
					failed.Add(1)
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%s %s: %d %s", method, path, status, out))
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(time.Second)
	standby.Stop()
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d of %d requests failed with the replica stopped under load; the first: %s", failed.Load(), done.Load(), failures[0])
	}
	waitInUse(false)
	if _, e := inUse(); e == "" {
		t.Error("/readyz does not say why the stopped replica is not in use")
	}
	var r struct {
		ResultCount int `json:"result_count"`
	}
	_, out := c.do("POST", base+"/api/v1/searches", token, `{"criteria":{"uscc":"91310115MA1K3YJ12G"}}`)
	if err := json.Unmarshal(out, &r); err != nil || r.ResultCount < 20 {
		t.Fatalf("after the replica stopped, a search answered %s", out)
	}
	t.Logf("%d requests under load with the replica stopped, none failed; %d registrations", done.Load(), r.ResultCount)
}
