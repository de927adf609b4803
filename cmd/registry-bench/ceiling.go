package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/jackc/pgx/v5"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/postgres"
	"github.com/movable-registry/registry/internal/registry"
)

// ceiling measures the raw ceiling: the rows of n filings (the event, its
// log hashes, the registration, its parties, grantor names and items, the
// audit entry) copied straight into copies of the register's tables, with
// their indexes, in transactions of batch filings, by as many connections as
// there are cores. No HTTP, no service, no hashing: what the database alone
// takes on this machine with fsync on. The rows are built before the clock
// starts.
func ceiling(ctx context.Context, dsn string, banks []Bank, n, batch int, log *slog.Logger) (CeilingResult, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return CeilingResult{}, err
	}
	defer conn.Close(ctx)
	tables := postgres.BulkTables()
	drop := func() {
		for _, t := range tables {
			_, _ = conn.Exec(context.Background(), "DROP TABLE IF EXISTS "+pgx.Identifier{"ceiling_" + t}.Sanitize())
		}
	}
	drop()
	defer drop()
	for _, t := range tables {
		if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING INDEXES INCLUDING CONSTRAINTS)",
			pgx.Identifier{"ceiling_" + t}.Sanitize(), pgx.Identifier{t}.Sanitize())); err != nil {
			return CeilingResult{}, err
		}
	}

	users, err := bankUsers(ctx, dsn, banks)
	if err != nil {
		return CeilingResult{}, err
	}
	svc := registry.NewService(nil, time.Now, registry.Config{})
	filed := make([]postgres.Filed, n)
	base := time.Now().UTC().Truncate(time.Microsecond)
	var wg sync.WaitGroup
	errs := make([]error, runtime.NumCPU())
	for w := range runtime.NumCPU() {
		wg.Go(func() {
			for i := w; i < n; i += runtime.NumCPU() {
				at := base.Add(time.Duration(i) * time.Microsecond)
				st := registry.Stamp{Number: registry.FormatNumber(at, int64(i+1)), At: at, LogIndex: int64(i), LogSize: int64(i + 1)}
				b := i % len(banks)
				written, err := svc.PrepareFiling(registry.Caller{Principal: users[b], Source: "registry-bench ceiling"},
					registry.Organization{ID: banks[b].ID, USCC: banks[b].USCC}, filing(int64(i)+3_000_000_000, banks[b].Company), st)
				if err != nil {
					errs[w] = err
					return
				}
				filed[i] = postgres.Filed{Written: written, CodeHash: auth.HashSecret(randomHex(12))}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return CeilingResult{}, err
		}
	}
	names := map[string]bool{}
	var chunks []postgres.Rows
	rowCount := 0
	for lo := 0; lo < n; lo += batch {
		r := postgres.RowsOf(filed[lo:min(lo+batch, n)], int64(lo+1), names)
		for _, rows := range [][][]any{r.Events, r.LogHashes, r.Registrations, r.Parties, r.GrantorNames, r.Items, r.Audit} {
			rowCount += len(rows)
		}
		chunks = append(chunks, r)
	}
	filed = nil

	workers := runtime.NumCPU()
	var next atomic.Int64
	var copied atomic.Int64
	errs = make([]error, workers)
	start := time.Now()
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				c := copied.Load()
				progress(os.Stderr, "ceiling", float64(c)/float64(n), fmt.Sprintf("%d/%d filings, %.0f/s", c, n, float64(c)/time.Since(start).Seconds()))
			}
		}
	}()
	for w := range workers {
		wg.Go(func() {
			c, err := pgx.Connect(ctx, dsn)
			if err != nil {
				errs[w] = err
				return
			}
			defer c.Close(ctx)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(chunks) {
					return
				}
				tx, err := c.Begin(ctx)
				if err != nil {
					errs[w] = err
					return
				}
				if err := chunks[i].Copy(ctx, tx, "ceiling_"); err != nil {
					_ = tx.Rollback(ctx)
					errs[w] = err
					return
				}
				if err := tx.Commit(ctx); err != nil {
					errs[w] = err
					return
				}
				copied.Add(int64(len(chunks[i].Events)))
			}
		})
	}
	wg.Wait()
	close(stop)
	secs := time.Since(start).Seconds()
	fmt.Fprintln(os.Stderr)
	for _, err := range errs {
		if err != nil {
			return CeilingResult{}, err
		}
	}
	res := CeilingResult{Filings: n, Rows: rowCount, Seconds: secs, PerSecond: float64(n) / secs, Batch: batch, Connections: workers}
	log.Info("raw ceiling", "filings_per_second", res.PerSecond, "rows", rowCount)
	return res, nil
}

// SearchCeilingResult is what the database alone answers of searches.
type SearchCeilingResult struct {
	Clients            int
	Seconds, PerSecond float64
	P50ms, P99ms       float64
}

// searchCeiling measures the raw ceiling of searching: the statement a
// search by USCC runs (the registrations found and their events), through
// the store straight to PostgreSQL by clients connections, for random
// preloaded grantors. No HTTP, no service, no certificate or audit entry
// written: what the database alone answers on this machine.
func searchCeiling(ctx context.Context, dsn string, w *workload, clients int, d time.Duration) (SearchCeilingResult, error) {
	gdb, err := postgres.Open(dsn)
	if err != nil {
		return SearchCeilingResult{}, err
	}
	if sqlDB, err := gdb.DB(); err == nil {
		defer sqlDB.Close()
	}
	store, err := postgres.New(gdb, time.Now)
	if err != nil {
		return SearchCeilingResult{}, err
	}
	defer store.Close()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var done atomic.Int64
	hists := make([]*hdrhistogram.Histogram, clients)
	errs := make([]error, clients)
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		hists[c] = hdrhistogram.New(1, 60_000_000, 3)
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c)+7, uint64(time.Now().UnixNano())))
			for ctx.Err() == nil {
				g := rng.Int64N(max(w.preload/2, 1))
				if g%8 == 7 {
					g--
				}
				t0 := time.Now()
				_, _, err := store.FindRegistrations(ctx, registry.Query{Criteria: registry.Criteria{USCC: company(g).USCC}, AsOf: time.Now()}, 32)
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					errs[c] = err
					return
				}
				_ = hists[c].RecordValue(time.Since(t0).Microseconds())
				done.Add(1)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return SearchCeilingResult{}, err
		}
	}
	h := hdrhistogram.New(1, 60_000_000, 3)
	for _, x := range hists {
		h.Merge(x)
	}
	secs := time.Since(start).Seconds()
	return SearchCeilingResult{Clients: clients, Seconds: secs, PerSecond: float64(done.Load()) / secs,
		P50ms: float64(h.ValueAtQuantile(50)) / 1000, P99ms: float64(h.ValueAtQuantile(99)) / 1000}, nil
}
