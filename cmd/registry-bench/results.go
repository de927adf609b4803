package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/movable-registry/registry/internal/names"

	"github.com/movable-registry/registry/internal/identifiers"
	"github.com/movable-registry/registry/internal/postgres"
	"github.com/movable-registry/registry/internal/registry"
)

// Results are one run's figures, as results.json holds them.
type Results struct {
	Started, Finished time.Time
	Machine           Machine
	Config            map[string]any
	Preload           PreloadResult
	Ceiling           *CeilingResult       `json:",omitempty"`
	SearchCeiling     *SearchCeilingResult `json:",omitempty"`
	Phases            []PhaseResult
	// FilingToCeiling is the filing phase's filings a second over the raw
	// ceiling's.
	FilingToCeiling float64 `json:",omitempty"`
	ServerRSSMaxMB  float64
	ServerRSSPeakMB float64
	Plans           []PlanResult  `json:",omitempty"`
	Verify          *VerifyResult `json:",omitempty"`
	Bodies          *BodiesResult `json:",omitempty"`
}

type Machine struct {
	CPUs                     int
	CPU, Go, OS, PostgreSQL  string
	SynchronousCommit, Fsync string
}

type PreloadResult struct {
	Registrations int64
	Seconds       float64 `json:",omitempty"`
	PerSecond     float64 `json:",omitempty"`
	// IndexSeconds is the part of Seconds spent building the secondary
	// indexes after the rows were copied; DiskBytes the database's size
	// after.
	IndexSeconds float64 `json:",omitempty"`
	DiskBytes    int64   `json:",omitempty"`
}

type CeilingResult struct {
	Filings, Rows, Batch, Connections int
	Seconds, PerSecond                float64
}

type PhaseResult struct {
	Name, Mix string
	Clients   int
	Seconds   float64
	PerSecond float64
	Ops       []OpResult
	Error     string `json:",omitempty"`
}

// OpResult is one operation's throughput and latency in milliseconds.
type OpResult struct {
	Op                 string
	Count              int64
	PerSecond          float64
	P50, P90, P99, Max float64
	Errors             map[string]int `json:",omitempty"`
}

type PlanResult struct {
	Criterion string
	Plans     []postgres.Plan
	// SeqScans names statements whose plan reads a whole table.
	SeqScans []string `json:",omitempty"`
}

func (r *Results) summarize() {
	if r.Ceiling == nil {
		return
	}
	for _, p := range r.Phases {
		if p.Name == "file" && r.Ceiling.PerSecond > 0 {
			r.FilingToCeiling = p.PerSecond / r.Ceiling.PerSecond
		}
	}
}

// write saves results.json and results.md in dir and prints the Markdown.
func (r *Results) write(dir string, out io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	md := r.markdown()
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(md), 0o644); err != nil {
		return err
	}
	_, err = io.WriteString(out, md)
	return err
}

func (r *Results) markdown() string {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "registry-bench, %s: %d × %s, %s, PostgreSQL %s (fsync %s, synchronous_commit %s)\n\n",
		r.Started.Format("2006-01-02 15:04 MST"), m.CPUs, m.CPU, m.Go, m.PostgreSQL, m.Fsync, m.SynchronousCommit)
	fmt.Fprintf(&b, "Register: %d registrations preloaded", r.Preload.Registrations)
	if r.Preload.Seconds > 0 {
		fmt.Fprintf(&b, " in %.0f s (%.0f/s through COPY", r.Preload.Seconds, r.Preload.PerSecond)
		if r.Preload.IndexSeconds > 0 {
			fmt.Fprintf(&b, ", of which %.0f s building the indexes afterwards", r.Preload.IndexSeconds)
		}
		b.WriteString(")")
		if r.Preload.DiskBytes > 0 {
			fmt.Fprintf(&b, ", %.1f GB on disk", float64(r.Preload.DiskBytes)/1e9)
		}
	}
	b.WriteString(".\n\n")
	if v := r.Verify; v != nil {
		fmt.Fprintf(&b, "registryctl verify: %d events in %.1f s (%.0f events a second, at most %.0f MB resident), exit %d:\n\n", v.Events, v.Seconds, float64(v.Events)/v.Seconds, v.PeakRSSMB, v.ExitCode)
		for _, line := range strings.Split(v.Output, "\n") {
			b.WriteString("    " + line + "\n")
		}
		b.WriteString("\n")
	}
	if r.Bodies != nil {
		r.Bodies.markdown(&b)
	}
	if len(r.Phases) > 0 {
		b.WriteString("| phase | clients | operation | per second | p50 ms | p90 ms | p99 ms | max ms | failed |\n|---|---:|---|---:|---:|---:|---:|---:|---:|\n")
	}
	for _, p := range r.Phases {
		if p.Error != "" {
			fmt.Fprintf(&b, "| %s | | %s | | | | | | |\n", p.Name, p.Error)
			continue
		}
		for _, o := range p.Ops {
			failed := 0
			for _, n := range o.Errors {
				failed += n
			}
			fmt.Fprintf(&b, "| %s | %d | %s | %.0f | %.2f | %.2f | %.2f | %.1f | %d |\n", p.Name, p.Clients, o.Op, o.PerSecond, o.P50, o.P90, o.P99, o.Max, failed)
		}
		if len(p.Ops) > 1 {
			fmt.Fprintf(&b, "| %s | %d | all | %.0f | | | | | |\n", p.Name, p.Clients, p.PerSecond)
		}
	}
	if c := r.Ceiling; c != nil {
		fmt.Fprintf(&b, "\nRaw ceiling: %.0f filings/s (%d filings, %d rows, COPY in transactions of %d over %d connections, no HTTP or service).\n",
			c.PerSecond, c.Filings, c.Rows, c.Batch, c.Connections)
		if r.FilingToCeiling > 0 {
			fmt.Fprintf(&b, "Filing through the service reached %.0f%% of it.\n", 100*r.FilingToCeiling)
		}
	}
	if c := r.SearchCeiling; c != nil {
		fmt.Fprintf(&b, "\nRaw search ceiling: %.0f searches by USCC a second, p50 %.2f ms, p99 %.2f ms (the find statement with its events through the store, %d connections, no HTTP, service, certificate or audit entry).\n",
			c.PerSecond, c.P50ms, c.P99ms, c.Clients)
	}
	fmt.Fprintf(&b, "\nregistryd resident memory: at most %.0f MB sampled, %.0f MB peak (VmHWM).\n", r.ServerRSSMaxMB, r.ServerRSSPeakMB)
	for _, p := range r.Plans {
		if len(p.SeqScans) > 0 {
			fmt.Fprintf(&b, "\nEXPLAIN: a search by %s reads a whole table in: %s\n", p.Criterion, strings.Join(p.SeqScans, ", "))
		}
	}
	if len(r.Plans) > 0 {
		b.WriteString("\nEXPLAIN ANALYZE of every search statement (whole plans in results.json, Plans):\n\n| search by | statement | planning ms | execution ms | whole-table scans |\n|---|---|---:|---:|---|\n")
		for _, p := range r.Plans {
			for _, st := range p.Plans {
				scans := ""
				if strings.Contains(st.Plan, "Seq Scan") {
					scans = "yes"
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", p.Criterion, st.Statement, planTime(st.Plan, "Planning Time: "), planTime(st.Plan, "Execution Time: "), scans)
			}
		}
	}
	return b.String()
}

// explainSearches runs each kind of search's statements under EXPLAIN
// ANALYZE on the loaded register and notes any that reads a whole table.
func explainSearches(ctx context.Context, dsn string, w *workload) ([]PlanResult, error) {
	gdb, err := postgres.Open(dsn)
	if err != nil {
		return nil, err
	}
	if sqlDB, err := gdb.DB(); err == nil {
		defer sqlDB.Close()
	}
	store, err := postgres.New(gdb, time.Now)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	c := company(max(w.preload/2-3, 0) &^ 7)
	serial := filing(3, c).Collateral.Items
	now := time.Now()
	queries := map[string]registry.Query{
		"grantor_name":        {Criteria: registry.Criteria{GrantorName: c.Name}, NameKey: names.Normalize(c.Name).Key, AsOf: now},
		"uscc":                {Criteria: registry.Criteria{USCC: c.USCC}, AsOf: now},
		"id_number":           {Criteria: registry.Criteria{IDNumber: idNumber("310115", 7)}, AsOf: now},
		"lei":                 {Criteria: registry.Criteria{LEI: "5493001KJTIIGC8Y1R12"}, AsOf: now},
		"registration_number": {Criteria: registry.Criteria{RegistrationNumber: w.numbers[0].number}, AsOf: now},
	}
	if len(serial) > 0 {
		queries["serial_number"] = registry.Query{Criteria: registry.Criteria{SerialNumber: serial[0].SerialNumber}, SerialKey: identifiers.SerialKey(serial[0].SerialNumber), AsOf: now}
	}
	var out []PlanResult
	for name, q := range queries {
		plans, err := store.ExplainSearch(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("explain %s: %w", name, err)
		}
		r := PlanResult{Criterion: name, Plans: plans}
		for _, p := range plans {
			if strings.Contains(p.Plan, "Seq Scan") {
				r.SeqScans = append(r.SeqScans, p.Statement)
			}
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Criterion < out[j].Criterion })
	return out, nil
}

// planTime reads a time EXPLAIN ANALYZE reports ("Execution Time: 0.123 ms").
func planTime(plan, label string) string {
	i := strings.LastIndex(plan, label)
	if i < 0 {
		return ""
	}
	rest := plan[i+len(label):]
	if j := strings.Index(rest, " ms"); j >= 0 {
		return rest[:j]
	}
	return ""
}
