// Command registry-bench measures the registry on this machine: it makes a
// benchmark database on the PostgreSQL cluster at DATABASE_URL, preloads it
// with realistic registrations through COPY, starts registryd on it, drives
// HTTP load at a chosen concurrency, duration and mix, measures the raw
// ceiling (the same rows inserted straight through pgx, no HTTP and no
// service) on the same database, and writes JSON and Markdown results.
//
//	registry-bench [-preload 1000000] [-file-clients 64] [-file-duration 60s] ...
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/movable-registry/registry/internal/postgres"
	"github.com/movable-registry/registry/internal/translog"
)

type options struct {
	databaseURL, database, registryd, out string
	registryctl                           string
	// keyDir keeps each benchmark database's log key (default var).
	keyDir                                 string
	preload                                int64
	fresh                                  bool
	fileClients, searchClients, mixClients int
	fileDuration, searchDuration, mixDur   time.Duration
	mix                                    string
	phases                                 string
	ceilingFilings                         int
	banks                                  int
	maxBatch                               int
	maxWait                                time.Duration
	profile                                bool
	replicaURL                             string
	bodiesClients, bodiesSize              int
}

func main() {
	var o options
	flag.StringVar(&o.databaseURL, "database-url", os.Getenv("DATABASE_URL"), "a PostgreSQL cluster to make the benchmark database on (default $DATABASE_URL)")
	flag.StringVar(&o.database, "database", "registry_bench", "the benchmark database's name; it is made, and kept for the next run")
	flag.StringVar(&o.registryd, "registryd", "bin/registryd", "the registryd binary to measure")
	flag.StringVar(&o.registryctl, "registryctl", "bin/registryctl", "the registryctl binary the verify phase runs")
	flag.StringVar(&o.out, "out", "bench/results", "where results.json and results.md go")
	flag.Int64Var(&o.preload, "preload", 1_000_000, "registrations to preload (10000000 for the large run)")
	flag.BoolVar(&o.fresh, "fresh", false, "drop the benchmark database and preload again even if it holds enough")
	flag.IntVar(&o.fileClients, "file-clients", 64, "concurrent clients in the filing phase")
	flag.DurationVar(&o.fileDuration, "file-duration", 60*time.Second, "length of the filing phase")
	flag.IntVar(&o.searchClients, "search-clients", 32, "concurrent clients in the search phase")
	flag.DurationVar(&o.searchDuration, "search-duration", 30*time.Second, "length of the search phase")
	flag.IntVar(&o.mixClients, "mix-clients", 32, "concurrent clients in the mixed phase")
	flag.DurationVar(&o.mixDur, "mix-duration", 30*time.Second, "length of the mixed phase")
	flag.IntVar(&o.bodiesClients, "bodies-clients", 32, "bulk filings sent at once in the bodies phase")
	flag.IntVar(&o.bodiesSize, "bodies-size", 33_000_000, "each of the bodies phase's bulk filings, in bytes (padded with spaces)")
	flag.StringVar(&o.mix, "mix", "file=20,search_name=35,search_uscc=20,search_number=15,amend=5,cancel=5", "the mixed phase's operations and weights")
	flag.StringVar(&o.phases, "phases", "explain,ceiling,file,search_ceiling,search_name,search_uscc,search_serial,search_mix,mix,verify", "phases to run, in order (search_mix_2r also: two instances reading from a standby; bodies: large request bodies from a searcher and a registrant)")
	flag.IntVar(&o.ceilingFilings, "ceiling-filings", 100_000, "filings the raw ceiling inserts")
	flag.IntVar(&o.banks, "banks", 8, "banks (organizations with a filing and searching user) that share the load")
	flag.IntVar(&o.maxBatch, "max-batch", 256, "registryd's sequencer.max_batch")
	flag.DurationVar(&o.maxWait, "max-wait", 0, "registryd's sequencer.max_wait")
	flag.StringVar(&o.replicaURL, "replica-url", "", "a streaming standby of the benchmark database for search_mix_2r (default: one made by scripts/pg.sh standby)")
	flag.BoolVar(&o.profile, "profile", false, "save a 20 s CPU profile of registryd from each load phase into -out")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx := context.Background()
	if err := run(ctx, o, log); err != nil {
		log.Error("registry-bench", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, log *slog.Logger) error {
	if o.databaseURL == "" {
		return errors.New("DATABASE_URL is not set (make bench sets it to the private cluster under ./var/pg)")
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	dsn, created, err := benchDatabase(ctx, o)
	if err != nil {
		return err
	}
	gdb, err := postgres.Open(dsn)
	if err != nil {
		return err
	}
	if _, err := postgres.Migrate(ctx, gdb); err != nil {
		return err
	}
	if sqlDB, err := gdb.DB(); err == nil {
		sqlDB.Close()
	}
	res := &Results{Started: time.Now().UTC(), Machine: machine(ctx, dsn), Config: o.describe()}

	srv, err := startServer(ctx, o, dsn, "registryd.log", log)
	if err != nil {
		return err
	}
	defer func() { srv.stop() }()
	banks, err := setUpBanks(ctx, srv, dsn, o.banks)
	if err != nil {
		return err
	}
	have, err := preloaded(ctx, dsn)
	if err != nil {
		return err
	}
	res.Preload = PreloadResult{Registrations: have}
	if have < o.preload {
		if !created && have > 0 {
			return fmt.Errorf("%s holds %d registrations, fewer than -preload %d, and was not made by this run: use -fresh", o.database, have, o.preload)
		}
		// registryd is stopped while the register loads (COPY, not its
		// writes), and started again on the loaded register, as an
		// operator would after a migration: it builds its similar-names
		// index at start.
		srv.stop()
		p, err := preload(ctx, dsn, banks, o.preload, log)
		if err != nil {
			return fmt.Errorf("preload: %w", err)
		}
		res.Preload = p
		if srv, err = startServer(ctx, o, dsn, "registryd-loaded.log", log); err != nil {
			return err
		}
	} else {
		log.Info("the benchmark database already holds enough registrations", "registrations", have)
	}
	if err := analyze(ctx, dsn); err != nil {
		return err
	}
	w := newWorkload(ctx, srv, dsn, banks, res.Preload.Registrations)
	if err := w.sample(ctx); err != nil {
		return err
	}
	for _, phase := range strings.Split(o.phases, ",") {
		switch phase = strings.TrimSpace(phase); phase {
		case "explain":
			plans, err := explainSearches(ctx, dsn, w)
			if err != nil {
				return err
			}
			res.Plans = plans
		case "ceiling":
			c, err := ceiling(ctx, dsn, banks, o.ceilingFilings, o.maxBatch, log)
			if err != nil {
				return fmt.Errorf("ceiling: %w", err)
			}
			res.Ceiling = &c
		case "file":
			res.Phases = append(res.Phases, w.phase(ctx, o, "file", o.fileClients, o.fileDuration, "file=1"))
		case "file_3", "file_3_direct":
			// Three registryd instances on the one database, the clients'
			// requests spread over them: what scaling out buys (or costs)
			// beside the file phase's one instance. In file_3 they pass
			// their writes to the leader; in file_3_direct each files its
			// own, taking turns at the register's head.
			var env []string
			if phase == "file_3_direct" {
				env = []string{"REGISTRY_ADVERTISE_URL="}
			}
			// The first instance too, started again in the phase's mode.
			srv.stop()
			if srv, err = startServer(ctx, o, dsn, "registryd-"+phase+".log", log, env...); err != nil {
				return err
			}
			w.srv, w.bases[0] = srv, srv.base
			var extra []*server
			for i := range 2 {
				s, err := startServer(ctx, o, dsn, fmt.Sprintf("registryd-extra-%d.log", i+1), log, env...)
				if err != nil {
					return err
				}
				extra = append(extra, s)
				w.bases = append(w.bases, s.base)
			}
			res.Phases = append(res.Phases, w.phase(ctx, o, phase, o.fileClients, o.fileDuration, "file=1"))
			for _, s := range extra {
				s.stop()
			}
			w.bases = w.bases[:1]
		case "file_watched":
			// Filing with 100,000 watches kept by the banks, beside the
			// file phase with none.
			p, err := w.withWatches(ctx, o, 100_000)
			if err != nil {
				return fmt.Errorf("file_watched: %w", err)
			}
			res.Phases = append(res.Phases, p)
		case "search_mix_2r":
			// Two instances whose reads may go to a streaming standby of
			// the database, beside search_mix's one instance on the primary.
			p, err := w.withReplica(ctx, o, dsn, log)
			if err != nil {
				return fmt.Errorf("search_mix_2r: %w", err)
			}
			res.Phases = append(res.Phases, p)
		case "search":
			res.Phases = append(res.Phases, w.phase(ctx, o, "search", o.searchClients, o.searchDuration, "search_name=50,search_uscc=30,search_number=20"))
		case "search_ceiling":
			c, err := searchCeiling(ctx, dsn, w, o.searchClients, o.searchDuration)
			if err != nil {
				return fmt.Errorf("search ceiling: %w", err)
			}
			res.SearchCeiling = &c
		case "search_name", "search_uscc", "search_serial", "search_number":
			res.Phases = append(res.Phases, w.phase(ctx, o, phase, o.searchClients, o.searchDuration, phase+"=1"))
		case "search_mix":
			// As a bank's system searches before lending: mostly by the
			// borrower's name and code, some by a machine's serial.
			res.Phases = append(res.Phases, w.phase(ctx, o, phase, o.searchClients, o.searchDuration, searchMixWeights))
		case "mix":
			res.Phases = append(res.Phases, w.phase(ctx, o, "mix", o.mixClients, o.mixDur, o.mix))
		case "verify":
			if res.Verify, err = verifyPhase(ctx, o, srv, dsn, log); err != nil {
				return fmt.Errorf("verify: %w", err)
			}
		case "bodies":
			b, err := bodiesPhase(ctx, srv, banks, o.bodiesClients, o.bodiesSize)
			if err != nil {
				return fmt.Errorf("bodies: %w", err)
			}
			res.Bodies = &b
		case "":
		default:
			return fmt.Errorf("unknown phase %q (there are explain, ceiling, search_ceiling, file, file_3, file_3_direct, file_watched, search, search_name, search_uscc, search_serial, search_number, search_mix, search_mix_2r, mix, verify, bodies)", phase)
		}
	}
	res.ServerRSSMaxMB, res.ServerRSSPeakMB = srv.rss.max(), srv.peakRSS()
	res.Finished = time.Now().UTC()
	res.summarize()
	return res.write(o.out, os.Stdout)
}

// benchDatabase makes (or keeps) the benchmark database on the cluster and
// returns its address, and whether this run made it.
func benchDatabase(ctx context.Context, o options) (string, bool, error) {
	conn, err := pgx.Connect(ctx, o.databaseURL)
	if err != nil {
		return "", false, err
	}
	defer conn.Close(ctx)
	ident := pgx.Identifier{o.database}.Sanitize()
	if o.fresh {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			return "", false, err
		}
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", o.database).Scan(&exists); err != nil {
		return "", false, err
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
			return "", false, err
		}
	}
	u, err := url.Parse(o.databaseURL)
	if err != nil {
		return "", false, err
	}
	u.Path = "/" + o.database
	return u.String(), !exists, nil
}

func preloaded(ctx context.Context, dsn string) (int64, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int64
	err = conn.QueryRow(ctx, "SELECT log_size FROM register_head").Scan(&n)
	return n, err
}

func analyze(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "ANALYZE")
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// server is registryd running as a child process.
type server struct {
	cmd       *exec.Cmd
	base      string
	debug     string
	admin     string
	rss       *rssSampler
	exited    chan error
	logPath   string
	closeLogs func()
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// benchKey is the log signing key of a benchmark database, kept in dir
// (var/bench-DATABASE.key by default) and made on first use: a register that
// later runs add to must be signed by one key, or it cannot be verified.
func benchKey(dir, database string) (string, error) {
	if dir == "" {
		dir = "var"
	}
	file := filepath.Join(dir, "bench-"+database+".key")
	if b, err := os.ReadFile(file); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	skey, _, err := translog.GenerateKey("bench.registry.local/log", rand.Reader)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return skey, os.WriteFile(file, []byte(skey+"\n"), 0o600)
}

func startServer(ctx context.Context, o options, dsn, logName string, log *slog.Logger, env ...string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	debug, err := freeAddr()
	if err != nil {
		return nil, err
	}
	skey, err := benchKey(o.keyDir, o.database)
	if err != nil {
		return nil, err
	}
	s := &server{base: "http://" + addr, debug: "http://" + debug, admin: randomHex(24), exited: make(chan error, 1)}
	s.logPath = filepath.Join(o.out, logName)
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	s.closeLogs = func() { logFile.Close() }
	s.cmd = exec.Command(o.registryd)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.Env = append(os.Environ(), "DATABASE_URL="+dsn, "REGISTRY_ADDR="+addr, "REGISTRY_ADMIN_TOKEN="+s.admin,
		"REGISTRY_LOG_KEY="+skey, "REGISTRY_RATE_PER_ADDRESS=off", "REGISTRY_RATE_PER_TOKEN=off", "REGISTRY_DEBUG_ADDR="+debug,
		fmt.Sprintf("REGISTRY_SEQUENCER_MAX_BATCH=%d", o.maxBatch), "REGISTRY_SEQUENCER_MAX_WAIT="+o.maxWait.String(),
		"REGISTRY_CONFIG=/dev/null",
		// Instances on the one database pass their writes to the one that
		// leads (an env of "REGISTRY_ADVERTISE_URL=" turns it off).
		"REGISTRY_ADVERTISE_URL="+s.base, "REGISTRY_CLUSTER_SECRET=bench-cluster-secret-0123456789abcdef")
	s.cmd.Env = append(s.cmd.Env, env...)
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (make bench builds it): %w", o.registryd, err)
	}
	go func() { s.exited <- s.cmd.Wait() }()
	s.rss = sampleRSS(s.cmd.Process.Pid)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if status, _, err := get(ctx, s.base+"/readyz", ""); err == nil && status == 200 {
			break
		}
		select {
		case err := <-s.exited:
			return nil, fmt.Errorf("registryd exited (%v); see %s", err, s.logPath)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("registryd did not become ready; see %s", s.logPath)
		}
	}
	log.Info("registryd is ready", "url", s.base, "pid", s.cmd.Process.Pid, "log", s.logPath)
	return s, nil
}

func (s *server) stop() {
	s.rss.stop()
	if s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.exited:
		case <-time.After(20 * time.Second):
			_ = s.cmd.Process.Kill()
		}
	}
	s.closeLogs()
}

func (s *server) peakRSS() float64 { return procStatusMB(s.cmd.Process.Pid, "VmHWM") }

// machine describes where the figures come from.
func machine(ctx context.Context, dsn string) Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if conn, err := pgx.Connect(ctx, dsn); err == nil {
		_ = conn.QueryRow(ctx, "SHOW server_version").Scan(&m.PostgreSQL)
		_ = conn.QueryRow(ctx, "SHOW synchronous_commit").Scan(&m.SynchronousCommit)
		_ = conn.QueryRow(ctx, "SHOW fsync").Scan(&m.Fsync)
		conn.Close(ctx)
	}
	return m
}

func (o options) describe() map[string]any {
	b, _ := json.Marshal(map[string]any{"preload": o.preload, "file_clients": o.fileClients, "file_duration": o.fileDuration.String(),
		"search_clients": o.searchClients, "search_duration": o.searchDuration.String(), "mix_clients": o.mixClients,
		"mix_duration": o.mixDur.String(), "mix": o.mix, "ceiling_filings": o.ceilingFilings, "banks": o.banks,
		"max_batch": o.maxBatch, "max_wait": o.maxWait.String()})
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// searchMixWeights is how a bank's system searches before lending: mostly
// by the borrower's name and code, some by a machine's serial.
const searchMixWeights = "search_name=40,search_uscc=40,search_serial=20"

// withReplica runs the search mix through two instances that read from a
// streaming standby (-replica-url, or one scripts/pg.sh standby makes of
// the private cluster), once it has caught up.
func (w *workload) withReplica(ctx context.Context, o options, dsn string, log *slog.Logger) (PhaseResult, error) {
	replica := o.replicaURL
	if replica == "" {
		u, err := url.Parse(dsn)
		if err != nil {
			return PhaseResult{}, err
		}
		out, err := exec.CommandContext(ctx, "scripts/pg.sh", "standby", strings.TrimPrefix(u.Path, "/")).Output()
		if err != nil {
			return PhaseResult{}, fmt.Errorf("scripts/pg.sh standby (it copies the private cluster under ./var/pg; for another cluster pass -replica-url): %w", err)
		}
		replica = strings.TrimSpace(string(out))
	}
	var servers []*server
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	for i := range 2 {
		s, err := startServer(ctx, o, dsn, fmt.Sprintf("registryd-replica-%d.log", i+1), log,
			"DATABASE_REPLICA_URLS="+replica, "REGISTRY_REPLICA_MAX_LAG=5s")
		if err != nil {
			return PhaseResult{}, err
		}
		servers = append(servers, s)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		_, body, err := get(ctx, servers[0].base+"/readyz", "")
		if err == nil && strings.Contains(string(body), `"in_use":true`) {
			break
		}
		if time.Now().After(deadline) {
			return PhaseResult{}, fmt.Errorf("the standby at %s did not catch up: %s", replica, body)
		}
		time.Sleep(time.Second)
	}
	saved := w.bases
	w.bases = []string{servers[0].base, servers[1].base}
	defer func() { w.bases = saved }()
	return w.phase(ctx, o, "search_mix_2r", o.searchClients, o.searchDuration, searchMixWeights), nil
}

// withWatches runs the file phase with n watches in the register (by USCC,
// grantor name and serial number, spread over the banks; none of them
// matches a filing of the phase, so what is measured is the lookup every
// filing makes), and removes them afterwards.
func (w *workload) withWatches(ctx context.Context, o options, n int) (PhaseResult, error) {
	conn, err := pgx.Connect(ctx, w.dsn)
	if err != nil {
		return PhaseResult{}, err
	}
	defer conn.Close(ctx)
	ids := make([]string, len(w.banks))
	for i, b := range w.banks {
		ids[i] = b.ID
	}
	_, err = conn.Exec(ctx, `INSERT INTO watches (id, organization_id, kind, key, criteria, created_at)
		SELECT gen_random_uuid(), ($2::uuid[])[1 + i % array_length($2::uuid[], 1)], k.kind, k.kind || '-bench-' || i, '{}', now()
		FROM generate_series(1, $1) AS i,
		LATERAL (SELECT (ARRAY['uscc', 'grantor_name', 'serial_number'])[1 + i % 3] AS kind) k`, n, ids)
	if err != nil {
		return PhaseResult{}, err
	}
	defer func() { _, _ = conn.Exec(context.Background(), "DELETE FROM watches WHERE key LIKE '%-bench-%'") }()
	if _, err := conn.Exec(ctx, "ANALYZE watches"); err != nil {
		return PhaseResult{}, err
	}
	return w.phase(ctx, o, "file_watched", o.fileClients, o.fileDuration, "file=1"), nil
}

// VerifyResult is registryctl verify over the whole benchmark register.
type VerifyResult struct {
	Events   int64
	Seconds  float64
	ExitCode int
	Output   string
	// PeakRSSMB is registryctl's resident memory at its largest.
	PeakRSSMB float64
}

// verifyPhase runs registryctl verify against the running registryd, with
// its admin token, from a state file of its own (a first verification: the
// whole log, every registration's state and the whole audit trail).
func verifyPhase(ctx context.Context, o options, srv *server, dsn string, log *slog.Logger) (*VerifyResult, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	var events int64
	err = conn.QueryRow(ctx, "SELECT log_size FROM register_head").Scan(&events)
	conn.Close(ctx)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "registry-bench-verify")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	log.Info("verify: registryctl verify over the register", "events", events)
	cmd := exec.CommandContext(ctx, o.registryctl, "verify", "-url", srv.base, "-token", srv.admin, "-state", filepath.Join(dir, "state.json"), "-timeout", "1h")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	r := &VerifyResult{Events: events, Seconds: time.Since(start).Seconds(), Output: strings.TrimSpace(string(out))}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.PeakRSSMB = float64(ru.Maxrss) / 1024 // kilobytes on Linux
	}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.ExitCode = exit.ExitCode()
	case err != nil:
		return nil, err
	}
	log.Info("verify: done", "seconds", r.Seconds, "exit", r.ExitCode)
	return r, nil
}
