// Command registry-bodies measures what large request bodies cost
// registryd: it makes a fresh database on the cluster at -database-url,
// starts registryd on loopback, and sends -clients bulk filings of -size
// bytes at once, first as a searcher (who may not file: each should be
// refused at once), then as a registrant (who may, but whose bodies are
// read only large_bodies.concurrent at a time), while one reader reads a
// registration in a loop. It reports each answer's time, the reader's p50
// and p99, and registryd's peak RSS (VmHWM) in each phase. Everything it
// sends goes to loopback, and every phase ends by itself.
//
//	go run ./cmd/registry-bodies -registryd bin/registryd
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/movable-registry/registry/internal/translog"
)

func main() {
	dsn := flag.String("database-url", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "a PostgreSQL cluster to make the database on")
	registryd := flag.String("registryd", "bin/registryd", "the registryd binary")
	clients := flag.Int("clients", 32, "bulk filings sent at once")
	size := flag.Int("size", 33_000_000, "each bulk filing's size in bytes (padded with spaces)")
	keep := flag.Bool("keep", false, "keep the database")
	flag.Parse()
	if err := run(*dsn, *registryd, *clients, *size, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "registry-bodies:", err)
		os.Exit(1)
	}
}

var client = &http.Client{Timeout: 120 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func run(dsn, registryd string, clients, size int, keep bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	name := "registry_bodies_" + hexOf(4)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return err
	}
	if !keep {
		defer func() { _, _ = conn.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)") }()
	}
	u := strings.Replace(dsn, "/postgres?", "/"+name+"?", 1)

	srv, err := start(ctx, registryd, u)
	if err != nil {
		return err
	}
	defer srv.stop()
	api := srv.base + "/api/v1"
	searcher, registrant, err := accounts(ctx, api, srv.admin)
	if err != nil {
		return err
	}
	// One registration for the reader to read.
	one := filing(registrant.uscc)
	status, body, err := call(ctx, "POST", api+"/registrations", registrant.token, mustJSON(one))
	if err != nil || status != 201 {
		return fmt.Errorf("file one: %d %s %v", status, body, err)
	}
	var reg struct{ Number string }
	_ = json.Unmarshal(body, &reg)

	payload := bulkBody(registrant.uscc, size)
	fmt.Printf("registryd pid %d, %d bulk bodies of %d bytes at once, on %s\n", srv.cmd.Process.Pid, clients, len(payload), srv.base)
	for _, phase := range []struct {
		name  string
		token string
	}{{"searcher", searcher.token}, {"registrant", registrant.token}} {
		resetPeak(srv.cmd.Process.Pid)
		before := vm(srv.cmd.Process.Pid, "VmHWM")
		stopReader := make(chan struct{})
		readings := make(chan []time.Duration, 1)
		go func() { readings <- read(ctx, api+"/registrations/"+reg.Number, registrant.token, stopReader) }()
		var mu sync.Mutex
		statuses, filings := map[int]int{}, map[int]int{}
		answerBytes := 0
		var times []time.Duration
		var wg sync.WaitGroup
		start := time.Now()
		for range clients {
			wg.Go(func() {
				t0 := time.Now()
				status, body, err := call(ctx, "POST", api+"/registrations/batch", phase.token, payload)
				d := time.Since(t0)
				var answer struct {
					Results []struct{ Status int }
				}
				_ = json.Unmarshal(body, &answer)
				mu.Lock()
				defer mu.Unlock()
				for _, r := range answer.Results {
					filings[r.Status]++
				}
				if status == 200 {
					answerBytes = max(answerBytes, len(body))
				}
				if err != nil {
					status = -1
				}
				statuses[status]++
				times = append(times, d)
			})
		}
		wg.Wait()
		all := time.Since(start)
		time.Sleep(500 * time.Millisecond)
		close(stopReader)
		reads := <-readings
		slices.Sort(times)
		slices.Sort(reads)
		fmt.Printf("\n%s: %d bodies in %v; statuses %v\n", phase.name, clients, all.Round(time.Millisecond), statuses)
		if len(filings) > 0 {
			fmt.Printf("  the filings of the bulk answers: %v (the largest answer %d bytes)\n", filings, answerBytes)
		}
		fmt.Printf("  answer times: min %v, median %v, max %v\n", times[0].Round(time.Millisecond), times[len(times)/2].Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond))
		fmt.Printf("  registryd peak RSS (VmHWM): %.0f MB (%.0f MB before the phase)\n", vm(srv.cmd.Process.Pid, "VmHWM"), before)
		if len(reads) > 0 {
			fmt.Printf("  reader: %d GETs of a registration, p50 %v, p99 %v, max %v\n", len(reads), pct(reads, 50), pct(reads, 99), reads[len(reads)-1].Round(time.Millisecond))
		}
	}
	return nil
}

// read GETs url in a loop until stop, 20 a second at most, and returns
// each answer's time.
func read(ctx context.Context, url, token string, stop chan struct{}) []time.Duration {
	var out []time.Duration
	for i := 0; i < 10_000; i++ {
		select {
		case <-stop:
			return out
		case <-time.After(50 * time.Millisecond):
		}
		t0 := time.Now()
		status, _, err := call(ctx, "GET", url, token, nil)
		if err == nil && status == 200 {
			out = append(out, time.Since(t0))
		}
	}
	return out
}

func pct(d []time.Duration, p int) time.Duration {
	i := min(len(d)-1, (len(d)*p+99)/100-1)
	return d[max(i, 0)].Round(100 * time.Microsecond)
}

type account struct{ token, uscc string }

func accounts(ctx context.Context, api, admin string) (searcher, registrant account, err error) {
	make := func(name, uscc, role string) (account, error) {
		status, body, err := call(ctx, "POST", api+"/organizations", admin, mustJSON(map[string]string{"name": name, "uscc": uscc, "kind": "financial_institution"}))
		if err != nil || status != 201 {
			return account{}, fmt.Errorf("organization: %d %s %v", status, body, err)
		}
		var org struct{ ID string }
		_ = json.Unmarshal(body, &org)
		email := role + "@bodies.example"
		status, body, err = call(ctx, "POST", api+"/users", admin, mustJSON(map[string]any{"organization_id": org.ID, "email": email,
			"display_name": "测量", "roles": []string{role}, "password": "a long enough password"}))
		if err != nil || status != 201 {
			return account{}, fmt.Errorf("user: %d %s %v", status, body, err)
		}
		status, body, err = call(ctx, "POST", api+"/tokens", "", mustJSON(map[string]string{"email": email, "password": "a long enough password"}))
		if err != nil || status != 201 {
			return account{}, fmt.Errorf("token: %d %s %v", status, body, err)
		}
		var tok struct{ Token string }
		_ = json.Unmarshal(body, &tok)
		return account{token: tok.Token, uscc: uscc}, nil
	}
	if searcher, err = make("上海测量检索有限公司", "91310000132209458L", "searcher"); err != nil {
		return
	}
	registrant, err = make("上海浦东发展银行股份有限公司张江科技支行", "91310115MA1K3YJ12G", "registrant")
	return
}

func filing(securedUSCC string) map[string]any {
	return map[string]any{
		"kind":            "chattel_mortgage",
		"grantors":        []any{map[string]any{"type": "organization", "name": "上海某某机械制造有限公司", "uscc": "911100001000065859"}},
		"secured_parties": []any{map[string]any{"type": "organization", "name": "上海浦东发展银行股份有限公司张江科技支行", "uscc": securedUSCC}},
		"collateral":      map[string]any{"description": strings.Repeat("数控机床及其附属设备，", 40)},
		"period_months":   12,
	}
}

// bulkBody is a bulk filing of up to 1,000 filings, padded with spaces to
// size bytes (a body that size, as the attacker sent).
func bulkBody(securedUSCC string, size int) []byte {
	var filings []any
	for range 1000 {
		filings = append(filings, filing(securedUSCC))
	}
	b := mustJSON(map[string]any{"filings": filings})
	if pad := size - len(b); pad > 0 {
		b = append(b[:len(b)-1:len(b)-1], append(bytes.Repeat([]byte(" "), pad), '}')...)
	}
	return b
}

type server struct {
	cmd   *exec.Cmd
	base  string
	admin string
	done  chan struct{}
}

func start(ctx context.Context, registryd, dsn string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	debug, err := freeAddr()
	if err != nil {
		return nil, err
	}
	skey, _, err := translog.GenerateKey("bodies.registry.local/log", rand.Reader)
	if err != nil {
		return nil, err
	}
	s := &server{base: "http://" + addr, admin: hexOf(24), done: make(chan struct{})}
	logPath := filepath.Join(os.TempDir(), "registry-bodies.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	s.cmd = exec.Command(registryd)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.Env = append(os.Environ(), "DATABASE_URL="+dsn, "REGISTRY_ADDR="+addr, "REGISTRY_ADMIN_TOKEN="+s.admin,
		"REGISTRY_LOG_KEY="+skey, "REGISTRY_RATE_PER_ADDRESS=off", "REGISTRY_RATE_PER_TOKEN=off", "REGISTRY_DEBUG_ADDR="+debug,
		"REGISTRY_CONFIG=/dev/null")
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = s.cmd.Wait(); logFile.Close(); close(s.done) }()
	for deadline := time.Now().Add(60 * time.Second); ; {
		if status, _, err := call(ctx, "GET", s.base+"/readyz", "", nil); err == nil && status == 200 {
			return s, nil
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("registryd exited; see %s", logPath)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("registryd did not become ready; see %s", logPath)
		}
	}
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func call(ctx context.Context, method, url, token string, body []byte) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// resetPeak resets the process's VmHWM to its present RSS (Linux: 5 to
// clear_refs), so that each phase's peak is its own.
func resetPeak(pid int) {
	_ = os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0)
}

// vm is a /proc/PID/status field in MB.
func vm(pid int, field string) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func hexOf(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
