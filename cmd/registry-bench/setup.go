package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/postgres"
	"github.com/movable-registry/registry/internal/registry"
)

var client = &http.Client{Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute}, Timeout: 60 * time.Second}

// call sends a JSON request (body marshalled, or []byte as it is) and
// reads the whole answer.
func call(ctx context.Context, method, url, token string, body any) (int, []byte, error) {
	var r io.Reader
	switch body := body.(type) {
	case nil:
	case []byte: // sent as it is (the bodies phase's padded bulk filings)
		r = bytes.NewReader(body)
	default:
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func get(ctx context.Context, url, token string) (int, []byte, error) {
	return call(ctx, "GET", url, token, nil)
}

// setUpBanks makes (or finds) the benchmark's banks, each with a user that
// files and searches, and signs each in.
func setUpBanks(ctx context.Context, s *server, dsn string, n int) ([]Bank, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	api := s.base + "/api/v1"
	banks := make([]Bank, n)
	for b := range n {
		c := bankCompany(b)
		bank := Bank{Company: c}
		email := fmt.Sprintf("clerk%d@bank%d.bench.example", b+1, b+1)
		err := conn.QueryRow(ctx, "SELECT id::text FROM organizations WHERE uscc = $1", c.USCC).Scan(&bank.ID)
		if err == pgx.ErrNoRows {
			status, body, err := call(ctx, "POST", api+"/organizations", s.admin, map[string]string{"name": c.Name, "uscc": c.USCC, "kind": "financial_institution"})
			if err != nil || status != 201 {
				return nil, fmt.Errorf("create bank %d: %d %s %v", b, status, body, err)
			}
			var org struct{ ID string }
			_ = json.Unmarshal(body, &org)
			bank.ID = org.ID
			status, body, err = call(ctx, "POST", api+"/users", s.admin, map[string]any{"organization_id": bank.ID, "email": email,
				"display_name": "基准测试柜员", "roles": []string{"registrant", "searcher"}, "password": "bench pass phrase " + strconv.Itoa(b)})
			if err != nil || status != 201 {
				return nil, fmt.Errorf("create bank %d's user: %d %s %v", b, status, body, err)
			}
		} else if err != nil {
			return nil, err
		}
		status, body, err := call(ctx, "POST", api+"/tokens", "", map[string]string{"email": email, "password": "bench pass phrase " + strconv.Itoa(b)})
		if err != nil || status != 201 {
			return nil, fmt.Errorf("sign bank %d in: %d %s %v", b, status, body, err)
		}
		var tok struct{ Token string }
		_ = json.Unmarshal(body, &tok)
		bank.Token = tok.Token
		banks[b] = bank
	}
	return banks, nil
}

// preload files n registrations through postgres.Bulk (COPY), built by the
// service's own code (registry.Service.Initial), in chunks: while one chunk
// is copied, the next is built.
func preload(ctx context.Context, dsn string, banks []Bank, n int64, log *slog.Logger) (PreloadResult, error) {
	// An empty register loads fastest without its secondary indexes, built
	// once at the end (in parallel, with memory to sort in).
	start := time.Now()
	indexes, err := dropIndexes(ctx, dsn)
	if err != nil {
		return PreloadResult{}, err
	}
	res, err := copyRegistrations(ctx, dsn, banks, n, log)
	if err != nil {
		return res, err
	}
	built := time.Now()
	if err := buildIndexes(ctx, dsn, indexes, log); err != nil {
		return res, err
	}
	res.IndexSeconds = time.Since(built).Seconds()
	res.Seconds = time.Since(start).Seconds()
	res.PerSecond = float64(n) / res.Seconds
	res.DiskBytes, _ = databaseSize(ctx, dsn)
	log.Info("preloaded", "registrations", n, "seconds", res.Seconds, "index_seconds", res.IndexSeconds, "disk_bytes", res.DiskBytes)
	return res, nil
}

// bulkIndexes are the indexes a preload drops and builds again: every
// index of the tables it copies into but their primary keys.
const bulkIndexes = `SELECT i.indexname, i.indexdef FROM pg_indexes i
	JOIN pg_class c ON c.relname = i.indexname
	LEFT JOIN pg_constraint k ON k.conindid = c.oid
	WHERE i.schemaname = 'public' AND i.tablename = ANY($1) AND k.oid IS NULL
	ORDER BY i.tablename, i.indexname`

func dropIndexes(ctx context.Context, dsn string) (map[string]string, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, bulkIndexes, postgres.BulkTables())
	if err != nil {
		return nil, err
	}
	defs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var d [2]string
		return d, r.Scan(&d[0], &d[1])
	})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, d := range defs {
		if _, err := conn.Exec(ctx, "DROP INDEX "+pgx.Identifier{d[0]}.Sanitize()); err != nil {
			return nil, err
		}
		out[d[0]] = d[1]
	}
	return out, nil
}

// buildIndexes builds the dropped indexes again, two at a time.
func buildIndexes(ctx context.Context, dsn string, defs map[string]string, log *slog.Logger) error {
	work := make(chan string)
	errs := make(chan error, len(defs))
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, "SET maintenance_work_mem = '1GB'"); err != nil {
				errs <- err
				return
			}
			for def := range work {
				t := time.Now()
				if _, err := conn.Exec(ctx, def); err != nil {
					errs <- fmt.Errorf("%s: %w", def, err)
					continue
				}
				log.Info("index built", "index", def, "seconds", time.Since(t).Seconds())
			}
		})
	}
	for _, def := range defs {
		work <- def
	}
	close(work)
	wg.Wait()
	close(errs)
	return <-errs
}

func databaseSize(ctx context.Context, dsn string) (int64, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int64
	return n, conn.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&n)
}

func copyRegistrations(ctx context.Context, dsn string, banks []Bank, n int64, log *slog.Logger) (PreloadResult, error) {
	bulk, err := postgres.OpenBulk(ctx, dsn)
	if err != nil {
		return PreloadResult{}, err
	}
	defer bulk.Close(ctx)
	users, err := bankUsers(ctx, dsn, banks)
	if err != nil {
		return PreloadResult{}, err
	}
	svc := registry.NewService(nil, time.Now, registry.Config{})
	const chunk = 20_000
	type built struct {
		filed []postgres.Filed
		err   error
	}
	chunks := make(chan built, 1)
	start := time.Now()
	go func() {
		defer close(chunks)
		for lo := int64(0); lo < n; lo += chunk {
			hi := min(lo+chunk, n)
			filed := make([]postgres.Filed, hi-lo)
			stamps := make([]registry.Stamp, hi-lo)
			for i := range stamps {
				stamps[i] = bulk.Stamp(time.Now(), registry.StampEvent)
			}
			var wg sync.WaitGroup
			errs := make([]error, runtime.NumCPU())
			for w := range runtime.NumCPU() {
				wg.Go(func() {
					for i := int64(w); i < hi-lo; i += int64(runtime.NumCPU()) {
						idx := lo + i
						b := int(idx % int64(len(banks)))
						c := registry.Caller{Principal: users[b], Source: "registry-bench preload"}
						written, err := svc.PrepareFiling(c, registry.Organization{ID: banks[b].ID, USCC: banks[b].USCC}, filing(idx, banks[b].Company), stamps[i])
						if err != nil {
							errs[w] = fmt.Errorf("registration %d: %w", idx, err)
							return
						}
						filed[i] = postgres.Filed{Written: written, CodeHash: auth.HashSecret(randomHex(12))}
					}
				})
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					chunks <- built{err: err}
					return
				}
			}
			chunks <- built{filed: filed}
		}
	}()
	var done int64
	for c := range chunks {
		if c.err != nil {
			return PreloadResult{}, c.err
		}
		if err := bulk.Load(ctx, c.filed); err != nil {
			return PreloadResult{}, err
		}
		done += int64(len(c.filed))
		elapsed := time.Since(start)
		progress(os.Stderr, "preload", float64(done)/float64(n), fmt.Sprintf("%d/%d registrations, %.0f/s", done, n, float64(done)/elapsed.Seconds()))
	}
	fmt.Fprintln(os.Stderr)
	secs := time.Since(start).Seconds()
	log.Info("copied", "registrations", n, "seconds", secs)
	return PreloadResult{Registrations: n, Seconds: secs, PerSecond: float64(n) / secs}, nil
}

// bankUsers are the principals of the banks' users, as the service would
// see them.
func bankUsers(ctx context.Context, dsn string, banks []Bank) ([]auth.Principal, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	out := make([]auth.Principal, len(banks))
	for i, b := range banks {
		var id string
		if err := conn.QueryRow(ctx, "SELECT id::text FROM users WHERE organization_id = $1 ORDER BY id LIMIT 1", b.ID).Scan(&id); err != nil {
			return nil, err
		}
		out[i] = auth.Principal{UserID: id, OrganizationID: b.ID, OrganizationUSCC: b.USCC, Roles: []auth.Role{"registrant", "searcher"}}
	}
	return out, nil
}

// progress draws a one-line bar.
func progress(w io.Writer, label string, frac float64, text string) {
	const width = 30
	frac = max(0, min(1, frac))
	full := int(frac * width)
	fmt.Fprintf(w, "\r%-8s [%s%s] %3.0f%% %s   ", label, strings.Repeat("█", full), strings.Repeat("░", width-full), 100*frac, text)
}

// rssSampler reads a process's resident memory every 250 ms.
type rssSampler struct {
	mu   sync.Mutex
	top  float64
	done chan struct{}
	once sync.Once
}

func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{done: make(chan struct{})}
	go func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
			}
			if mb := procStatusMB(pid, "VmRSS"); mb > 0 {
				s.mu.Lock()
				s.top = max(s.top, mb)
				s.mu.Unlock()
			}
		}
	}()
	return s
}

func (s *rssSampler) max() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.top
}

func (s *rssSampler) stop() { s.once.Do(func() { close(s.done) }) }

// procStatusMB reads a kB field of /proc/PID/status in MB.
func procStatusMB(pid int, field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}
