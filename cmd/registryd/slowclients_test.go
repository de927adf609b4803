package main

import (
	"bufio"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/pgtest"
)

// TestSlowAndIdleClients: a thousand connections that send their headers a
// byte a second and fifty that trickle a body just under the size limit do
// not slow other clients' reads much (their p99 is compared with one
// measured before, in the same run), and ten thousand idle keep-alive
// connections cost registryd little memory each. Figures are logged; the
// bounds are loose, for a shared machine (make chaos runs it longer).
func TestSlowAndIdleClients(t *testing.T) {
	if testing.Short() {
		t.Skip("opens thousands of connections")
	}
	ps := newProcesses(t, "slow-clients-admin-token-0123456789abcdef")
	in := ps.start("registryd", func(string) []string { return []string{"REGISTRY_METRICS_TOKEN=" + metricsToken} })
	waitReady(t, in)
	c := &caller{t: t}
	token := bankClerk(c, in.base, ps.admin, `"registrant","searcher"`)
	number := c.json("POST", in.base+"/api/v1/registrations", token, filingBody("设备"), 201)["number"].(string)

	// p99 of reads by four clients for d.
	p99 := func(d time.Duration) (time.Duration, int) {
		var mu sync.Mutex
		var took []time.Duration
		failed := 0
		stop := time.Now().Add(d)
		var wg sync.WaitGroup
		client := &http.Client{Timeout: 10 * time.Second}
		for range 4 {
			wg.Go(func() {
				for time.Now().Before(stop) {
					req, _ := http.NewRequest("GET", in.base+"/api/v1/registrations/"+number, nil)
					req.Header.Set("Authorization", "Bearer "+token)
					start := time.Now()
					resp, err := client.Do(req)
					if err == nil {
						resp.Body.Close()
					}
					mu.Lock()
					if err != nil || resp.StatusCode != 200 {
						failed++
					}
					took = append(took, time.Since(start))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		slices.Sort(took)
		return took[len(took)*99/100], failed
	}
	before, _ := p99(3 * time.Second)

	// The slow clients.
	addr := strings.TrimPrefix(in.base, "http://")
	done := make(chan struct{})
	var attackers sync.WaitGroup
	for i := range 1050 {
		attackers.Go(func() {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			defer conn.Close()
			var first, rest string
			if i < 1000 {
				// Headers, a byte a second.
				first, rest = "GET /api/v1/registrations HTTP/1.1\r\n", "Host: x\r\nX-Slow: "+strings.Repeat("a", 60)
			} else {
				// A body just under the 1 MiB limit, a kilobyte a second.
				first, rest = "POST /api/v1/registrations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n", strings.Repeat("x", 1000000)
			}
			if _, err := conn.Write([]byte(first)); err != nil {
				return
			}
			step := 1
			if i >= 1000 {
				step = 1024
			}
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for k := 0; k < len(rest); k += step {
				select {
				case <-done:
					return
				case <-tick.C:
				}
				if _, err := conn.Write([]byte(rest[k:min(k+step, len(rest))])); err != nil {
					return
				}
			}
		})
	}
	time.Sleep(2 * time.Second)
	during, failed := p99(5 * time.Second)
	close(done)
	attackers.Wait()
	t.Logf("reads' p99: %s alone, %s beside 1,000 slow-header and 50 slow-body connections (%.2f×; %d failed)",
		before.Round(10*time.Microsecond), during.Round(10*time.Microsecond), float64(during)/float64(before), failed)
	if failed > 0 || during > 2*before+50*time.Millisecond {
		t.Errorf("the slow clients slowed the others: p99 %s against %s, %d failed", during, before, failed)
	}

	// Ten thousand idle keep-alive connections, each after one request.
	rss := func() int64 {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", in.cmd.Process.Pid))
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				return kb << 10
			}
		}
		return 0
	}
	base := rss()
	const idle = 10000
	conns := make([]net.Conn, 0, idle)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range idle {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", len(conns)+1, err)
		}
		conns = append(conns, conn)
		if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("connection %d: %v", len(conns), err)
		}
		resp.Body.Close()
	}
	grown := rss() - base
	t.Logf("10,000 idle keep-alive connections: registryd's RSS grew %d MB (%d kB each)", grown>>20, grown/idle>>10)
	if grown/idle > 64<<10 {
		t.Errorf("each idle connection costs %d kB", grown/idle>>10)
	}
	// And the others are still served.
	if got, failed := p99(time.Second); failed > 0 {
		t.Errorf("with 10,000 idle connections: %d reads failed (p99 %s)", failed, got)
	}
}

// TestExportToAClientThatNeverReads: an auditor's client asks for an
// export of a long trail and reads nothing. The export reads the trail a
// page at a time, each page in its own statement, so while it waits for the
// client no database connection is held: the pool's in-use count falls to
// none (it held one for 30 s when the export was one streamed statement).
func TestExportToAClientThatNeverReads(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("fills the audit trail")
	}
	url := pgtest.URL(t)
	addr, admin, _ := startServerWith(t, map[string]string{"DATABASE_URL": url, "REGISTRY_SHUTDOWN_GRACE": "0s"})
	base := "http://" + addr
	c := &caller{t: t}
	auditor := staffAuditor(c, base, admin)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Filler below the real entries' ids (the chain's head is left alone).
	if _, err := db.Exec(`INSERT INTO audit_entries (id, at, actor, action, target, outcome, detail)
		SELECT -g, now(), 'registry', 'test.filler', '', 'success', repeat('x', 300) FROM generate_series(1, 60000) g`); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetReadBuffer(4096)
	}
	if _, err := fmt.Fprintf(conn, "GET /api/v1/audit/export HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", auditor); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the export fills the buffers and waits
	least := 1 << 20
	for range 40 {
		if v, ok := sample(t, base, `go_sql_in_use_connections{db_name="registry"}`); ok {
			least = min(least, int(v))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if least != 0 {
		t.Errorf("while the export waited for its client, the pool always had %d connections in use", least)
	}
}
