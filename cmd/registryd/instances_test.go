package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/pgtest"
	"github.com/movable-registry/registry/internal/registrytest"
)

// instance is one registryd process of a test.
type instance struct {
	name, base string
	cmd        *exec.Cmd
	log        *bytes.Buffer
}

// processes are registryd processes of a test on one fresh database, with
// one log key and admin token; registryctl is built beside registryd.
type processes struct {
	t                             testing.TB
	dir, bin, ctl, keyFile, dbURL string
	admin                         string
}

func newProcesses(t testing.TB, admin string) *processes {
	t.Helper()
	p := &processes{t: t, dir: t.TempDir(), dbURL: pgtest.URL(t), admin: admin}
	p.keyFile = filepath.Join(p.dir, "log.key")
	p.bin, p.ctl = registrytest.Program(t, "registryd"), registrytest.Program(t, "registryctl")
	if err := keygen([]string{"-name", "test.registry/log", p.keyFile}, io.Discard); err != nil {
		t.Fatal(err)
	}
	return p
}

// start starts an instance on a free loopback port, with the settings env
// gives for its base URL besides the common ones; it is killed when the
// test ends. waitReady waits for it.
func (p *processes) start(name string, env func(base string) []string) *instance {
	p.t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		p.t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	in := &instance{name: name, base: "http://" + addr, log: &bytes.Buffer{}}
	in.cmd = exec.Command(p.bin)
	in.cmd.Env = append(os.Environ(), "DATABASE_URL="+p.dbURL+"&application_name="+name, "REGISTRY_ADDR="+addr,
		"REGISTRY_ADMIN_TOKEN="+p.admin, "REGISTRY_LOG_KEY_FILE="+p.keyFile, "REGISTRY_CONFIG=../../configs/registry.yaml",
		"REGISTRY_RATE_PER_ADDRESS=off", "REGISTRY_RATE_PER_TOKEN=off", "REGISTRY_SHUTDOWN_GRACE=0s",
		// Tests run beside others on one PostgreSQL server: a small pool.
		"REGISTRY_DATABASE_MAX_CONNS=8")
	in.cmd.Env = append(in.cmd.Env, env(in.base)...)
	in.cmd.Stdout, in.cmd.Stderr = in.log, in.log
	if err := in.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { _ = in.cmd.Process.Kill(); _ = in.cmd.Wait() })
	return in
}

// TestInstancesShareOneRegister runs three registryd processes on one
// database and files through all three at once: numbers, times and log
// positions stay one order without gaps, every acknowledged filing is
// there, checkpoints extend one another with two of the three killed with
// SIGKILL mid-load, and registryctl verifies the register afterwards.
func TestInstancesShareOneRegister(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three registryd processes")
	}
	ps := newProcesses(t, "instances-admin-token-0123456789abcdef")
	admin, dir, ctl, dbURL := ps.admin, ps.dir, ps.ctl, ps.dbURL
	var instances []*instance
	for i := range 3 {
		instances = append(instances, ps.start(fmt.Sprintf("registryd-%d", i+1), func(base string) []string {
			return []string{"REGISTRY_CHECKPOINT_INTERVAL=200ms",
				// The instances pass their register writes to the one that leads.
				"REGISTRY_ADVERTISE_URL=" + base, "REGISTRY_CLUSTER_SECRET=instances-cluster-secret-0123456789abcdef",
				"REGISTRY_METRICS_TOKEN=" + metricsToken}
		}))
	}
	for _, in := range instances {
		waitReady(t, in)
	}
	c := &caller{t: t}
	// The registry's staff and a bank, made through the first instance.
	staff := c.json("POST", instances[0].base+"/api/v1/organizations", admin, `{"name":"登记机构","uscc":"91310000MA1FL0XQ17","kind":"registry"}`, 201)["id"]
	c.json("POST", instances[0].base+"/api/v1/users", admin, fmt.Sprintf(`{"organization_id":%q,"email":"auditor@registry.example","display_name":"审计","roles":["auditor"],"password":"a long enough password"}`, staff), 201)
	bank := c.json("POST", instances[1].base+"/api/v1/organizations", admin, `{"name":"某银行","uscc":"91310000132209458L","kind":"financial_institution"}`, 201)["id"]
	c.json("POST", instances[2].base+"/api/v1/users", admin, fmt.Sprintf(`{"organization_id":%q,"email":"clerk@bank.example","display_name":"甲","roles":["registrant"],"password":"a long enough password"}`, bank), 201)
	token := c.json("POST", instances[0].base+"/api/v1/tokens", "", `{"email":"clerk@bank.example","password":"a long enough password"}`, 201)["token"].(string)

	// Twelve clients file through the three instances in turn for two
	// seconds; then two of the instances are killed while the clients go on
	// through the one left.
	var mu sync.Mutex
	var acknowledged []string
	stop := make(chan struct{})
	killed := make(chan struct{})
	var wg sync.WaitGroup
	for k := range 12 {
		wg.Go(func() {
			for n := k; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				in := instances[n%3]
				select {
				case <-killed:
					in = instances[2]
				default:
				}
				body := filingBody(fmt.Sprintf("设备 %d-%d", k, n))
				status, out := c.do("POST", in.base+"/api/v1/registrations", token, body)
				if status == 201 {
					var r struct{ Number string }
					_ = json.Unmarshal(out, &r)
					mu.Lock()
					acknowledged = append(acknowledged, r.Number)
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(2 * time.Second)
	// Writes sent to the instances that do not lead were filed by the one
	// that does.
	forwarded := 0.0
	for _, in := range instances {
		forwarded += metric(t, in.base, `registry_forwarded_writes_total{outcome="leader"}`)
	}
	if forwarded == 0 {
		t.Error("no write was passed to the leading instance")
	}
	close(killed)
	for _, in := range instances[:2] {
		_ = in.cmd.Process.Signal(syscall.SIGKILL)
	}
	killedAt := time.Now()
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	if len(acknowledged) < 30 {
		t.Fatalf("only %d filings acknowledged", len(acknowledged))
	}

	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// One order: log positions 0..n-1, numbers and times rising with them.
	rows, err := db.Query("SELECT log_index, number, registered_at FROM events ORDER BY log_index")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	var lastNumber string
	var lastAt time.Time
	next := int64(0)
	for rows.Next() {
		var idx int64
		var number string
		var at time.Time
		if err := rows.Scan(&idx, &number, &at); err != nil {
			t.Fatal(err)
		}
		if idx != next {
			t.Fatalf("log position %d after %d: a gap", idx, next-1)
		}
		if next > 0 && (number[8:18] <= lastNumber[8:18] || !at.After(lastAt)) {
			t.Errorf("event %d (%s at %s) does not follow %s at %s", idx, number, at, lastNumber, lastAt)
		}
		have[number], lastNumber, lastAt, next = true, number, at, idx+1
	}
	rows.Close()
	for _, n := range acknowledged {
		if !have[n] {
			t.Errorf("acknowledged filing %s is not in the register", n)
		}
	}
	// Checkpoints extend one another, and the survivor signs one covering
	// every event within 3 s of the others' death.
	deadline := killedAt.Add(3 * time.Second)
	for {
		var size int64
		if err := db.QueryRow("SELECT COALESCE(MAX(size), 0) FROM checkpoints").Scan(&size); err != nil {
			t.Fatal(err)
		}
		if size == next {
			break
		}
		if time.Now().After(deadline.Add(time.Second)) {
			t.Fatalf("the latest checkpoint covers %d of %d events", size, next)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var unordered int
	// (A checkpoint of the same size signs a later audit head.)
	if err := db.QueryRow(`SELECT count(*) FROM (SELECT size, audit_seq, lag(size) OVER (ORDER BY signed_at) AS size_before, lag(audit_seq) OVER (ORDER BY signed_at) AS seq_before FROM checkpoints) c
		WHERE (size, audit_seq) <= (size_before, seq_before)`).Scan(&unordered); err != nil {
		t.Fatal(err)
	}
	if unordered > 0 {
		t.Errorf("%d checkpoints do not extend the one signed before them", unordered)
	}
	t.Logf("%d filings acknowledged through three instances, %d events; two instances killed, the third signed on", len(acknowledged), next)

	auditor := c.json("POST", instances[2].base+"/api/v1/tokens", "", `{"email":"auditor@registry.example","password":"a long enough password"}`, 201)["token"].(string)
	out, err := exec.Command(ctl, "verify", "-url", instances[2].base, "-token", auditor, "-state", filepath.Join(dir, "state.json")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK") {
		t.Errorf("registryctl verify: %v\n%s", err, out)
	}
}

func waitReady(t *testing.T, in *instance) {
	t.Helper()
	waitServing(t, strings.TrimPrefix(in.base, "http://"), nil, func() string { return in.name + ": " + in.log.String() })
}

// caller makes HTTP requests for a test.
type caller struct{ t *testing.T }

func (c *caller) do(method, url, token, body string) (int, []byte) {
	req, err := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (c *caller) json(method, url, token, body string, want int) map[string]any {
	c.t.Helper()
	status, out := c.do(method, url, token, body)
	if status != want {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, url, status, want, out)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		c.t.Fatal(err)
	}
	return m
}

// metric reads one sample of an instance's /metrics (0 when absent).
func metric(t *testing.T, base, name string) float64 {
	t.Helper()
	v, _ := sample(t, base, name)
	return v
}

// sample reads one sample of an instance's /metrics, and whether it is
// there.
func sample(t *testing.T, base, name string) (float64, bool) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f, true
		}
	}
	return 0, false
}

// filingBody is a bank's chattel mortgage over a machine maker's equipment.
func filingBody(description string) string {
	return fmt.Sprintf(`{"kind":"chattel_mortgage","grantors":[{"type":"organization","name":"上海星辰精密机械有限公司","uscc":"91310115MA1K3YJ12G","address":"上海市","legal_representative":"王建国"}],"secured_parties":[{"type":"organization","name":"某银行","uscc":"91310000132209458L","address":"上海市","legal_representative":"李明"}],"collateral":{"description":%q,"items":[]},"period_months":12,"agreed_with_grantor":true}`, description)
}

// bankClerk admits a bank through the admin token and returns the token of
// its clerk, who has roles (a JSON list's items).
func bankClerk(c *caller, base, admin, roles string) string {
	c.t.Helper()
	bank := c.json("POST", base+"/api/v1/organizations", admin, `{"name":"某银行","uscc":"91310000132209458L","kind":"financial_institution"}`, 201)["id"]
	c.json("POST", base+"/api/v1/users", admin, fmt.Sprintf(`{"organization_id":%q,"email":"clerk@bank.example","display_name":"甲","roles":[%s],"password":"a long enough password"}`, bank, roles), 201)
	return c.json("POST", base+"/api/v1/tokens", "", `{"email":"clerk@bank.example","password":"a long enough password"}`, 201)["token"].(string)
}
