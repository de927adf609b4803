package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/movable-registry/registry/internal/pgtest"
	"github.com/movable-registry/registry/internal/translog"
)

// TestDatabaseCrashLosesNoAcknowledgedFiling stops PostgreSQL as a crash
// would (pg_ctl -m immediate) for three seconds while sixteen clients file
// and four read and search. The sequencer's batches commit without waiting
// for the disk and are answered only after a flush barrier, so every filing
// answered 201 before the crash must be in the register once the database
// is back. Every request sent while it is away is answered, in bounded time,
// 503 unavailable with Retry-After (never 500), and /readyz says not
// ready; within 5 s of its return registryd files again without a restart.
func TestDatabaseCrashLosesNoAcknowledgedFiling(t *testing.T) {
	t.Parallel()
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
	token := bankClerk(c, base, admin, `"registrant","searcher"`)
	known := c.json("POST", base+"/api/v1/registrations", token, filingBody("设备 known"), 201)["number"].(string)

	var mu sync.Mutex
	var acknowledged []string
	ackedAt := map[string]time.Time{}
	var stoppedAt, startedAt time.Time
	// What was asked and answered while the database was away (sent after
	// its stop, answered before its start), and the slowest answer then. A
	// request sent before the stop may be answered after it, and rightly
	// 201 or 200: its work committed before the database went (a loaded
	// machine delays such answers by a second or more).
	var down bool
	var downSince time.Time
	var downAnswers map[string]int
	var downSlowest time.Duration
	statuses := map[int]int{}
	answer := func(method, path, body string) (int, []byte) {
		start := time.Now()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		took := time.Since(start)
		status, out, kind := 0, []byte(nil), "no answer"
		if err == nil {
			out, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			status, kind = resp.StatusCode, strconv.Itoa(resp.StatusCode)
			if status == 503 {
				var p struct{ Code string }
				_ = json.Unmarshal(out, &p)
				kind += " " + p.Code
				if resp.Header.Get("Retry-After") == "" {
					kind += " without Retry-After"
				}
			}
		}
		mu.Lock()
		statuses[status]++
		if down && start.After(downSince) {
			downAnswers[method+" "+kind]++
			downSlowest = max(downSlowest, took)
		}
		mu.Unlock()
		return status, out
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for k := range 20 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var status int
				switch {
				case k >= 18:
					status, _ = answer("GET", "/api/v1/registrations/"+known, "")
				case k >= 16:
					status, _ = answer("POST", "/api/v1/searches", `{"criteria":{"uscc":"91310115MA1K3YJ12G"}}`)
				default:
					var out []byte
					status, out = answer("POST", "/api/v1/registrations", filingBody(fmt.Sprintf("设备 %d-%d", k, i)))
					if status == 201 {
						var r struct{ Number string }
						_ = json.Unmarshal(out, &r)
						mu.Lock()
						acknowledged = append(acknowledged, r.Number)
						ackedAt[r.Number] = time.Now()
						mu.Unlock()
					}
				}
				if status != 201 && status != 200 {
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	db.Stop()
	stoppedAt = time.Now()
	mu.Lock()
	before := len(acknowledged)
	down, downSince, downAnswers = true, stoppedAt, map[string]int{}
	mu.Unlock()
	time.Sleep(1500 * time.Millisecond)
	if r, err := http.Get(base + "/readyz"); err != nil || r.StatusCode != 503 {
		t.Errorf("/readyz with the database away: %v %v, want 503", r.Status, err)
	}
	time.Sleep(1500 * time.Millisecond)
	mu.Lock()
	down = false
	mu.Unlock()
	back := time.Now()
	db.Start()
	startedAt = time.Now()
	// Served again without a restart of registryd, counted from when the
	// database accepts connections again (its recovery takes seconds of
	// its own on a loaded machine).
	var again time.Duration
	for {
		mu.Lock()
		after := len(acknowledged)
		mu.Unlock()
		if after > before {
			again = time.Since(startedAt)
			break
		}
		if time.Since(startedAt) > 10*time.Second {
			t.Fatalf("registryd did not file again within 10 s of the database's return (it took %s to start again; %v)", startedAt.Sub(back), statuses)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	if before < 50 {
		t.Fatalf("only %d filings acknowledged before the crash", before)
	}
	if again > 5*time.Second {
		t.Errorf("the first filing after the database's return took %s, want at most 5 s", again)
	}
	for kind, n := range downAnswers {
		if !strings.HasSuffix(kind, " 503 unavailable") {
			t.Errorf("with the database away: %d answers %q, want 503 unavailable with Retry-After", n, kind)
		}
	}
	if statuses[500] > 0 {
		t.Errorf("%d answers 500", statuses[500])
	}
	if downSlowest > 5*time.Second {
		t.Errorf("the slowest answer with the database away took %s", downSlowest)
	}
	t.Logf("with the database away for 3 s: %v, the slowest in %s; filing again %s after its return",
		downAnswers, downSlowest.Round(time.Millisecond), again.Round(time.Millisecond))

	// The registry's own auditor verifies the whole register against its log.
	staff := c.json("POST", base+"/api/v1/organizations", admin, `{"name":"登记机构","uscc":"91310000MA1FL0XQ17","kind":"registry"}`, 201)["id"]
	c.json("POST", base+"/api/v1/users", admin, fmt.Sprintf(`{"organization_id":%q,"email":"auditor@registry.example","display_name":"审计","roles":["auditor"],"password":"a long enough password"}`, staff), 201)
	auditor := c.json("POST", base+"/api/v1/tokens", "", `{"email":"auditor@registry.example","password":"a long enough password"}`, 201)["token"].(string)
	dir := buildRegistryctl(t)
	if out, err := exec.Command(filepath.Join(dir, "registryctl"), "verify", "-url", base, "-token", auditor, "-state", filepath.Join(dir, "state.json")).CombinedOutput(); err != nil {
		t.Errorf("registryctl verify: %v\n%s", err, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, db.URL("registry"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	checkRegister(t, ctx, conn, acknowledged, func(n string) string {
		return fmt.Sprintf("acknowledged %s after the stop, %s after the start", ackedAt[n].Sub(stoppedAt), ackedAt[n].Sub(startedAt))
	})
	t.Logf("%d filings acknowledged (%d before the crash), none lost; answers by status: %v", len(acknowledged), before, statuses)
}

// checkRegister checks the register on conn after a fault: every filing
// acknowledged is there (when one is not, when says when it was
// acknowledged), the log's positions have no gap, and its stored tree is
// the one its records give.
func checkRegister(t *testing.T, ctx context.Context, conn *pgx.Conn, acknowledged []string, when func(number string) string) {
	t.Helper()
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
			if lost++; lost < 5 {
				t.Errorf("filing %s was acknowledged and is not in the register (%s)", n, when(n))
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
	checkStoredTree(t, ctx, conn)
}

// checkStoredTree recomputes the log's tree from the records the log commits to and
// compares every stored hash with it: a hash computed from a record that a
// crash took away would differ.
func checkStoredTree(t *testing.T, ctx context.Context, conn *pgx.Conn) {
	t.Helper()
	rows, err := conn.Query(ctx, "SELECT log_index, COALESCE(log_record, record) FROM events ORDER BY log_index")
	if err != nil {
		t.Fatal(err)
	}
	var tree translog.MemoryTree
	var n int64
	for rows.Next() {
		var i int64
		var record []byte
		if err := rows.Scan(&i, &record); err != nil {
			t.Fatal(err)
		}
		if i != n {
			t.Fatalf("log position %d follows %d", i, n-1)
		}
		if err := tree.Append(n, record); err != nil {
			t.Fatal(err)
		}
		n++
	}
	rows.Close()
	want := tree.Hashes()
	hrows, err := conn.Query(ctx, "SELECT id, hash FROM log_hashes ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer hrows.Close()
	var stored, wrong int64
	for hrows.Next() {
		var id int64
		var h []byte
		if err := hrows.Scan(&id, &h); err != nil {
			t.Fatal(err)
		}
		stored++
		if id >= int64(len(want)) || string(h) != string(want[id][:]) {
			if wrong++; wrong < 4 {
				t.Errorf("stored hash %d (of %d records) is not the one the records give", id, n)
			}
		}
	}
	if stored != int64(len(want)) || wrong > 0 {
		t.Errorf("log_hashes: %d stored for %d records (want %d), %d wrong", stored, n, len(want), wrong)
	}
}
