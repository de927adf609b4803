package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/pgtest"
)

// TestRequestsEndAtTheirDeadline holds a lock that a read, a search and a
// filing wait for: each is answered 503 unavailable at its deadline
// (request_timeout 1 s; the refusal's audit entry gets what is left less
// 100 ms for the answer, at least 100 ms, then is written later), and PostgreSQL is told to cancel
// the read's and the search's statements, so that none is left waiting
// once the answers are out (without the cancel request they wait on for
// the lock). Released, the lock lets the registry serve again.
func TestRequestsEndAtTheirDeadline(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for deadlines")
	}
	url := pgtest.URL(t)
	addr, admin, _ := startServerWith(t, map[string]string{"DATABASE_URL": url, "REGISTRY_SHUTDOWN_GRACE": "0s",
		"REGISTRY_REQUEST_TIMEOUT": "1s"})
	base := "http://" + addr
	c := &caller{t: t}
	token := bankClerk(c, base, admin, `"registrant","searcher"`)
	c.json("POST", base+"/api/v1/registrations", token, filingBody("设备一批"), 201)
	auditor := staffAuditor(c, base, admin)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	hold, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The registrations (a read and a search read them, a filing writes
	// them).
	for _, q := range []string{"LOCK TABLE registrations IN ACCESS EXCLUSIVE MODE"} {
		if _, err := hold.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	type call struct{ method, path, body, token string }
	answer := func(cl call, limit time.Duration) string {
		start := time.Now()
		req, _ := http.NewRequest(cl.method, base+cl.path, strings.NewReader(cl.body))
		req.Header.Set("Authorization", "Bearer "+cl.token)
		resp, err := http.DefaultClient.Do(req)
		took := time.Since(start)
		if err != nil {
			return "no answer: " + err.Error()
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var p struct{ Code string }
		_ = json.Unmarshal(b, &p)
		if took > limit {
			t.Errorf("%s %s answered after %s, past its deadline", cl.method, cl.path, took)
		}
		return fmt.Sprintf("%d %s Retry-After %q", resp.StatusCode, p.Code, resp.Header.Get("Retry-After"))
	}
	const want = `503 unavailable Retry-After "2"`
	var wg sync.WaitGroup
	var search, read string
	wg.Go(func() {
		search = answer(call{"POST", "/api/v1/searches", `{"criteria":{"uscc":"91310115MA1K3YJ12G"}}`, token}, 1700*time.Millisecond)
	})
	wg.Go(func() {
		read = answer(call{"GET", "/api/v1/registrations?status=effective", "", token}, 1700*time.Millisecond)
	})
	wg.Wait()
	if search != want || read != want {
		t.Errorf("with the registrations locked: search %s, read %s; want %s", search, read, want)
	}
	// Their statements were cancelled in PostgreSQL: none still waits.
	waiting := func() []string {
		var out []string
		// (The refusals' audit entries are written later, and wait on; so do
		// the periodic tasks, which are no request's.)
		rows, err := db.Query(`SELECT left(query, 60) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
			AND query NOT LIKE '%audit_head%' AND query NOT LIKE '%objection_deadlines%' AND query NOT LIKE '%reminder_marks%'
			AND query NOT LIKE '%erased_at IS NULL%'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var q string
			_ = rows.Scan(&q)
			out = append(out, q)
		}
		return out
	}
	for deadline := time.Now().Add(time.Second); len(waiting()) > 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("statements still waiting in PostgreSQL after their requests ended: %q", waiting())
		}
	}
	// A filing's batch waits for the registrations too: the filing is answered
	// at its deadline, and its batch runs on to its end (its client learns
	// the outcome through its Idempotency-Key).
	if got := answer(call{"POST", "/api/v1/registrations", filingBody("设备二批"), token}, 1700*time.Millisecond); got != want {
		t.Errorf("filing with the parties locked: %s, want %s", got, want)
	}
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	c.json("POST", base+"/api/v1/registrations", token, filingBody("设备三批"), 201)
	if status, _ := c.do("GET", base+"/api/v1/audit/export", auditor, ""); status != 200 {
		t.Errorf("export after the locks: %d", status)
	}
}

// staffAuditor makes the registry's own organization and an auditor in it,
// and returns the auditor's token.
func staffAuditor(c *caller, base, admin string) string {
	c.t.Helper()
	staff := c.json("POST", base+"/api/v1/organizations", admin, `{"name":"登记机构","uscc":"91310000MA1FL0XQ17","kind":"registry"}`, 201)["id"]
	c.json("POST", base+"/api/v1/users", admin, fmt.Sprintf(`{"organization_id":%q,"email":"auditor@registry.example","display_name":"审计","roles":["auditor"],"password":"a long enough password"}`, staff), 201)
	return c.json("POST", base+"/api/v1/tokens", "", `{"email":"auditor@registry.example","password":"a long enough password"}`, 201)["token"].(string)
}

// TestPoolOfTwoNeverDeadlocks runs the registry with two database
// connections (the similar names' listener may hold one) while twelve
// clients file, search, list and read at once for four seconds: every
// request is answered, none with an error, none after its deadline.
func TestPoolOfTwoNeverDeadlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a load")
	}
	addr, admin, _ := startServerWith(t, map[string]string{"REGISTRY_SHUTDOWN_GRACE": "0s", "REGISTRY_DATABASE_MAX_CONNS": "2",
		"REGISTRY_REQUEST_TIMEOUT": "5s", "REGISTRY_RATE_PER_ADDRESS": "off", "REGISTRY_RATE_PER_TOKEN": "off"})
	base := "http://" + addr
	c := &caller{t: t}
	token := bankClerk(c, base, admin, `"registrant","searcher"`)
	known := c.json("POST", base+"/api/v1/registrations", token, filingBody("设备"), 201)["number"].(string)
	var mu sync.Mutex
	statuses := map[int]int{}
	var slowest time.Duration
	stop := time.Now().Add(4 * time.Second)
	var wg sync.WaitGroup
	for k := range 12 {
		wg.Go(func() {
			for i := 0; time.Now().Before(stop); i++ {
				var status int
				start := time.Now()
				switch k % 4 {
				case 0:
					status, _ = c.do("POST", base+"/api/v1/registrations", token, filingBody(fmt.Sprintf("设备 %d-%d", k, i)))
				case 1:
					status, _ = c.do("POST", base+"/api/v1/searches", token, `{"criteria":{"grantor_name":"上海星辰精密机械有限公司"}}`)
				case 2:
					status, _ = c.do("GET", base+"/api/v1/registrations?limit=20", token, "")
				default:
					status, _ = c.do("GET", base+"/api/v1/registrations/"+known, token, "")
				}
				mu.Lock()
				statuses[status]++
				slowest = max(slowest, time.Since(start))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	ok := statuses[200] + statuses[201]
	if ok < 50 || ok != all2xx(statuses) || slowest > 5*time.Second {
		t.Errorf("with a pool of two: answers %v, the slowest in %s", statuses, slowest)
	}
	t.Logf("with a pool of two: answers %v, the slowest in %s", statuses, slowest.Round(time.Millisecond))
	c.json("POST", base+"/api/v1/registrations", token, filingBody("设备 after"), 201)
}

// all2xx counts every answer when all are 200 or 201, and -1 otherwise.
func all2xx(statuses map[int]int) int {
	n := 0
	for s, k := range statuses {
		if s != 200 && s != 201 {
			return -1
		}
		n += k
	}
	return n
}
