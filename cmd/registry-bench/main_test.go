package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/identifiers"
	"github.com/movable-registry/registry/internal/postgres"
	"github.com/movable-registry/registry/internal/registrytest"
	"github.com/movable-registry/registry/internal/translog"
)

// TestGeneratedIdentifiersAreValid checks the generator against the
// register's own validators.
func TestGeneratedIdentifiersAreValid(t *testing.T) {
	t.Parallel()
	names := map[string]bool{}
	for g := range int64(20000) {
		c := company(g)
		if _, err := identifiers.CanonicalUSCC(c.USCC); err != nil {
			t.Fatalf("company %d: USCC %s: %v", g, c.USCC, err)
		}
		if _, err := identifiers.CanonicalIDNumber(idNumber(c.Region.division, g)); err != nil {
			t.Fatalf("person %d: %v", g, err)
		}
		if names[c.Name] {
			t.Fatalf("company %d repeats the name %s", g, c.Name)
		}
		names[c.Name] = true
	}
	for b := range 8 {
		if _, err := identifiers.CanonicalUSCC(bankCompany(b).USCC); err != nil {
			t.Fatalf("bank %d: %v", b, err)
		}
	}
	for i := range int64(2000) {
		f := filing(i, bankCompany(0))
		if err := f.Validate(); err != nil {
			t.Fatalf("filing %d: %v", i, err)
		}
	}
}

// TestBenchRuns runs registry-bench end to end on a small register: a
// registryd binary, a preload, every phase. The figures are not judged
// (this machine is shared), but every operation must have succeeded, and
// the register it leaves must verify: the log's tree and the audit chain
// as a fresh store and a recomputation see them.
func TestBenchRuns(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds registryd and runs a small benchmark")
	}
	admin := os.Getenv("TEST_DATABASE_URL")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	dir := t.TempDir()
	bin, ctl := registrytest.Program(t, "registryd"), registrytest.Program(t, "registryctl")
	ctx := context.Background()
	o := options{databaseURL: admin, database: "registry_bench_test_" + randomHex(4), registryd: bin, registryctl: ctl, out: dir, keyDir: dir,
		preload: 600, fileClients: 4, fileDuration: time.Second, searchClients: 4, searchDuration: time.Second,
		mixClients: 4, mixDur: time.Second, mix: "file=20,search_name=35,search_uscc=20,search_number=15,amend=5,cancel=5",
		phases: "explain,ceiling,file,search,mix,verify", ceilingFilings: 400, banks: 2, maxBatch: 64}
	defer func() {
		if conn, err := pgx.Connect(ctx, admin); err == nil {
			_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{o.database}.Sanitize()+" WITH (FORCE)")
			conn.Close(ctx)
		}
	}()
	if err := run(ctx, o, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Preload.Registrations != 600 || r.Ceiling == nil || r.Ceiling.PerSecond <= 0 || r.FilingToCeiling <= 0 || r.ServerRSSPeakMB <= 0 || len(r.Plans) != 6 {
		t.Errorf("results lack figures: %s", b)
	}
	if len(r.Phases) != 3 {
		t.Fatalf("%d phases", len(r.Phases))
	}
	// registryctl verify passes on the register after the load phases.
	if v := r.Verify; v == nil || v.ExitCode != 0 || v.Events < 600 || !strings.HasSuffix(v.Output, "OK") {
		t.Errorf("the verify phase: %+v", v)
	}
	for _, p := range r.Phases {
		for _, op := range p.Ops {
			if op.Count == 0 || len(op.Errors) > 0 || op.P99 <= 0 {
				t.Errorf("phase %s, %s: %d done, failures %v", p.Name, op.Op, op.Count, op.Errors)
			}
		}
	}
	if md, err := os.ReadFile(filepath.Join(dir, "results.md")); err != nil || !bytes.Contains(md, []byte("| file | 4 | file |")) {
		t.Errorf("results.md: %v\n%s", err, md)
	}

	// The register verifies: preloaded, filed, amended and cancelled alike.
	dsn, _, err := benchDatabase(ctx, options{databaseURL: admin, database: o.database})
	if err != nil {
		t.Fatal(err)
	}
	gdb, err := postgres.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if sqlDB, err := gdb.DB(); err == nil {
		defer sqlDB.Close()
	}
	var records [][]byte
	if err := gdb.Raw("SELECT COALESCE(log_record, record) FROM events ORDER BY log_index").Scan(&records).Error; err != nil {
		t.Fatal(err)
	}
	tree := &translog.MemoryTree{}
	for i, rec := range records {
		if err := tree.Append(int64(i), rec); err != nil {
			t.Fatal(err)
		}
	}
	store, err := postgres.New(gdb, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := tree.Root(int64(len(records)))
	if got, err := translog.TreeHash(ctx, store, int64(len(records))); err != nil || got != want {
		t.Errorf("the log's tree over %d events: %v, %v; want %v", len(records), got, err, want)
	}
	trail, err := store.Audit(ctx, audit.Filter{Limit: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	prev := audit.ChainStart
	for i := len(trail) - 1; i >= 0; i-- {
		e := trail[i]
		prev = audit.Chain(prev, e.ID, e.Entry)
		if !bytes.Equal(prev, e.Chain) {
			t.Fatalf("the audit chain breaks at entry %d (%s %s)", e.ID, e.Action, e.Target)
		}
	}
	if len(trail) < len(records) {
		t.Errorf("%d audit entries for %d events", len(trail), len(records))
	}
}

// TestFirstRoundCoversTheMix checks that the clients of a phase, between
// them, send every operation the mix weighs in their first requests, so
// that a phase of a second still measures a weight of 5 in 100.
func TestFirstRoundCoversTheMix(t *testing.T) {
	t.Parallel()
	ops := map[string]op{}
	for _, n := range []string{"file", "search_name", "search_uscc", "search_number", "amend", "cancel"} {
		ops[n] = op{name: n}
	}
	mixes, _, err := parseMix("file=20,search_name=35,search_uscc=20,search_number=0,amend=5,cancel=5", ops)
	if err != nil {
		t.Fatal(err)
	}
	for _, clients := range []int{1, 2, 4, 5, 8} {
		seen := map[string]int{}
		longest := 0
		for c := range clients {
			first := firstRound(mixes, clients, c)
			longest = max(longest, len(first))
			for _, o := range first {
				seen[o.name]++
			}
		}
		want := map[string]int{"file": 1, "search_name": 1, "search_uscc": 1, "amend": 1, "cancel": 1}
		if len(seen) != len(want) {
			t.Errorf("%d clients send first %v, want each of %v once", clients, seen, want)
		}
		for n := range want {
			if seen[n] != 1 {
				t.Errorf("%d clients send %s %d times first, want once", clients, n, seen[n])
			}
		}
		if clients >= 2 {
			rarest := map[string]bool{}
			for c := range 2 {
				rarest[firstRound(mixes, clients, c)[0].name] = true
			}
			if !rarest["amend"] || !rarest["cancel"] {
				t.Errorf("%d clients: the first two send %v first, want the rarest, amend and cancel", clients, rarest)
			}
		}
		if wantLongest := (5 + clients - 1) / clients; longest != wantLongest {
			t.Errorf("%d clients: the longest first round is %d requests, want %d", clients, longest, wantLongest)
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	registrytest.RemovePrograms()
	os.Exit(code)
}
