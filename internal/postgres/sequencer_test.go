package postgres_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/pgtest"
	"github.com/movable-registry/registry/internal/postgres"
	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/translog"
)

// TestSequencerBatchesWrites sends many writes at once through a sequencer
// that waits for company. One write refuses (its rows and stamp are given
// back), one fails in the database (a number already taken), and the rest
// commit: in batches, with numbers, times and log positions in one order
// without gaps, the audit chain whole, and the log's tree the one of the
// records that committed.
func TestSequencerBatchesWrites(t *testing.T) {
	t.Parallel()
	_, gdb := pgtest.Open(t)
	store, err := postgres.New(gdb, time.Now, postgres.MaxBatch(32), postgres.MaxWait(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(store.Collectors()...)
	ctx := context.Background()
	errRefused := errors.New("refused")

	write := func(record string, number func(registry.Stamp) string, refuse bool) error {
		return store.Sequence(ctx, registry.StampEvent, func(tx registry.Tx, st registry.Stamp) error {
			n := number(st)
			if err := tx.InsertEvent(ctx, registry.EventRecord{LogIndex: st.LogIndex, Number: n, Type: "initial",
				RegistrationNumber: n, At: st.At, Record: []byte(record)}); err != nil {
				return err
			}
			if err := tx.InsertAudit(ctx, audit.Entry{At: st.At, Actor: audit.System, Action: "test.write", Target: n, Outcome: audit.Success}); err != nil {
				return err
			}
			if refuse {
				return errRefused
			}
			return nil
		})
	}
	own := func(st registry.Stamp) string { return st.Number }
	var taken string
	if err := write(`{"first":true}`, func(st registry.Stamp) string { taken = st.Number; return st.Number }, false); err != nil {
		t.Fatal(err)
	}

	const n = 96
	const refusing, clashing = 7, 13
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			number := own
			if i == clashing {
				number = func(registry.Stamp) string { return taken }
			}
			errs[i] = write(fmt.Sprintf(`{"write":%d}`, i), number, i == refusing)
		})
	}
	wg.Wait()
	for i, err := range errs {
		switch i {
		case refusing:
			if !errors.Is(err, errRefused) {
				t.Errorf("write %d: %v, want its own refusal", i, err)
			}
		case clashing:
			if !errors.Is(err, registry.ErrConflict) {
				t.Errorf("write %d: %v, want a conflict", i, err)
			}
		default:
			if err != nil {
				t.Errorf("write %d: %v", i, err)
			}
		}
	}

	// The events: one order for positions, numbers and times, no gaps.
	events, tree := eventsInOneOrder(t, gdb, n-1)
	for _, e := range events {
		if bytes.Contains(e.Record, []byte(fmt.Sprintf(`{"write":%d}`, refusing))) {
			t.Errorf("the refused write's event was kept")
		}
	}
	fresh, err := postgres.New(gdb, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := tree.Root(int64(len(events)))
	for name, s := range map[string]*postgres.Store{"the store that wrote": store, "a fresh store": fresh} {
		if got, err := translog.TreeHash(ctx, s, int64(len(events))); err != nil || got != want {
			t.Errorf("%s: root %v, %v; want %v", name, got, err, want)
		}
	}

	// The audit chain: one entry per committed write, each link right.
	records, err := store.Audit(ctx, audit.Filter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != n-1 {
		t.Fatalf("%d audit entries, want %d", len(records), n-1)
	}
	prev := audit.ChainStart
	for i := range records {
		rec := records[len(records)-1-i] // newest first
		if rec.ID != int64(i+1) {
			t.Fatalf("audit entry %d has id %d", i+1, rec.ID)
		}
		if rec.Target != events[i].Number {
			t.Errorf("audit entry %d is for %s, want %s", rec.ID, rec.Target, events[i].Number)
		}
		prev = audit.Chain(prev, rec.ID, rec.Entry)
		if !bytes.Equal(prev, rec.Chain) {
			t.Fatalf("audit chain breaks at %d", rec.ID)
		}
	}

	// The writes went in batches, and the clash made one batch run alone.
	families, err := metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var batches, writes, reruns float64
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch f.GetName() {
			case "registry_sequencer_batch_writes":
				if m.GetLabel()[0].GetValue() == "committed" {
					batches += float64(m.GetHistogram().GetSampleCount())
					writes += m.GetHistogram().GetSampleSum()
				}
			case "registry_sequencer_reruns_total":
				reruns += m.GetCounter().GetValue()
			}
		}
	}
	t.Logf("%.0f writes committed in %.0f batches; %.0f run again alone", writes, batches, reruns)
	if batches == 0 || writes/batches < 2 {
		t.Errorf("%.0f writes in %.0f batches: no batching", writes, batches)
	}
	if reruns == 0 {
		t.Errorf("the clashing write's batch was not run again")
	}
}

// BenchmarkSequencer sends writes (an event with its log hashes and an
// audit entry) from 64 goroutines: batched (prepared ahead of the head),
// batched under the head throughout, and one transaction each. The ratios
// are what preparing ahead and batching buy.
func BenchmarkSequencer(b *testing.B) {
	for _, c := range []struct {
		name string
		opts []postgres.Option
	}{{"batched", nil}, {"held", []postgres.Option{postgres.HoldHead()}}, {"alone", []postgres.Option{postgres.MaxBatch(1)}}} {
		b.Run(c.name, func(b *testing.B) {
			_, gdb := pgtest.Open(b)
			store, err := postgres.New(gdb, time.Now, c.opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			metrics := prometheus.NewRegistry()
			metrics.MustRegister(store.Collectors()...)
			ctx := context.Background()
			b.SetParallelism(32) // 64 goroutines on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					err := store.Sequence(ctx, registry.StampEvent, func(tx registry.Tx, st registry.Stamp) error {
						if err := tx.InsertEvent(ctx, registry.EventRecord{LogIndex: st.LogIndex, Number: st.Number, Type: "initial",
							RegistrationNumber: st.Number, At: st.At, Record: []byte(`{"benchmark":true}`)}); err != nil {
							return err
						}
						return tx.InsertAudit(ctx, audit.Entry{At: st.At, Actor: audit.System, Action: "test.write", Target: st.Number, Outcome: audit.Success})
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			reportSteps(b, metrics)
		})
	}
}

// reportSteps reports how long the sequencer held the head and prepared
// ahead of it, a write, the writes a batch, and the share of batches
// committed as prepared.
func reportSteps(b *testing.B, metrics *prometheus.Registry) {
	families, err := metrics.Gather()
	if err != nil {
		b.Fatal(err)
	}
	var prepared, batches float64
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch f.GetName() {
			case "registry_sequencer_batch_writes":
				if h := m.GetHistogram(); m.GetLabel()[0].GetValue() == "committed" && h.GetSampleCount() > 0 {
					b.ReportMetric(h.GetSampleSum()/float64(h.GetSampleCount()), "writes/batch")
				}
			case "registry_sequencer_step_seconds":
				b.ReportMetric(m.GetHistogram().GetSampleSum()*1e6/float64(b.N), m.GetLabel()[0].GetValue()+"-µs/op")
			case "registry_sequencer_batches_total":
				if m.GetLabel()[0].GetValue() == "prepared" {
					prepared = m.GetCounter().GetValue()
				}
				batches += m.GetCounter().GetValue()
			}
		}
	}
	if batches > 0 {
		b.ReportMetric(prepared/batches, "prepared/batch")
	}
}

// Searches stamped alone share the sequence with events, and the session
// that stamped them (which does not wait for the disk) never serves another
// write: after the store closes, no pooled connection has lost its
// synchronous commit.
func TestSearchStampsAlone(t *testing.T) {
	t.Parallel()
	_, gdb := pgtest.Open(t)
	store, err := postgres.New(gdb, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var numbers []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 35 {
		kind := registry.StampSearchAsOf
		if i%7 == 0 {
			kind = registry.StampEvent
		}
		wg.Go(func() {
			err := store.Sequence(ctx, kind, func(tx registry.Tx, st registry.Stamp) error {
				mu.Lock()
				numbers = append(numbers, st.Number)
				mu.Unlock()
				if kind == registry.StampEvent {
					return tx.InsertEvent(ctx, registry.EventRecord{LogIndex: st.LogIndex, Number: st.Number, Type: "initial",
						RegistrationNumber: st.Number, At: st.At, Record: []byte(`{}`)})
				}
				return tx.InsertAudit(ctx, audit.Entry{At: st.At, Actor: audit.System, Action: "test.search", Target: st.Number, Outcome: audit.Success})
			})
			if err != nil {
				t.Error(err)
			}
			if kind == registry.StampSearchAsOf {
				return
			}
			// An event's own audit entry, written in its batch.
			err = store.Sequence(ctx, registry.StampSearch, func(tx registry.Tx, st registry.Stamp) error {
				return tx.InsertAudit(ctx, audit.Entry{At: st.At, Actor: audit.System, Action: "test.keyed", Target: st.Number, Outcome: audit.Success})
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	store.Close()
	// Events' and searches' audit entries, appended by different writers,
	// make one unbroken chain.
	records, err := store.Audit(ctx, audit.Filter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(records, func(a, b audit.Record) int { return int(a.ID - b.ID) })
	if len(records) != 35 {
		t.Fatalf("%d audit entries, want 35", len(records))
	}
	prev := audit.ChainStart
	for i, rec := range records {
		if rec.ID != int64(i+1) {
			t.Fatalf("audit entry %d has id %d", i+1, rec.ID)
		}
		if prev = audit.Chain(prev, rec.ID, rec.Entry); !bytes.Equal(prev, rec.Chain) {
			t.Fatalf("audit chain breaks at %d", rec.ID)
		}
	}
	seen := map[string]bool{}
	for _, n := range numbers {
		if seen[n] {
			t.Fatalf("number %s handed out twice", n)
		}
		seen[n] = true
	}
	// Every connection the pool holds, at once.
	sqlDB, _ := gdb.DB()
	idle := sqlDB.Stats().Idle
	var conns []*sql.Conn
	for range idle + 1 {
		c, err := sqlDB.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var mode string
		if err := c.QueryRowContext(ctx, "SHOW synchronous_commit").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if mode != "on" {
			t.Fatalf("a pooled connection has synchronous_commit %s", mode)
		}
	}
	for _, c := range conns {
		c.Close()
	}
}

// TestPreparedBatches runs batches prepared ahead of the head (ahead.go)
// on a register that another instance writes to as well: a batch prepared
// on a forecast that the other instance's write made wrong is run again
// under the head, and the register stays one order without gaps, its audit
// chain whole and its log's tree that of the records committed.
func TestPreparedBatches(t *testing.T) {
	t.Parallel()
	_, gdb := pgtest.Open(t)
	ctx := context.Background()
	open := func() *postgres.Store {
		s, err := postgres.New(gdb, time.Now, postgres.MaxBatch(8), postgres.MaxWait(30*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := open(), open()
	defer a.Close()
	defer b.Close()
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(a.Collectors()...)
	write := func(s *postgres.Store, i int) error {
		return s.Sequence(ctx, registry.StampEvent, func(tx registry.Tx, st registry.Stamp) error {
			if err := tx.InsertEvent(ctx, registry.EventRecord{LogIndex: st.LogIndex, Number: st.Number, Type: "initial",
				RegistrationNumber: st.Number, At: st.At, Record: fmt.Appendf(nil, `{"write":%d}`, i)}); err != nil {
				return err
			}
			return tx.InsertAudit(ctx, audit.Entry{At: st.At, Actor: audit.System, Action: "test.write", Target: st.Number, Outcome: audit.Success})
		})
	}
	total := 0
	batch := func(s *postgres.Store, n int) {
		var wg sync.WaitGroup
		for range n {
			i := total
			total++
			wg.Go(func() {
				if err := write(s, i); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	extra := 0
	for i := range 6 {
		// Two batches on a, the second prepared after the first; then
		// one write of b's, or an audit entry appended outside the
		// sequencer, which a's next forecast does not know.
		batch(a, 4)
		batch(a, 4)
		if i%2 == 0 {
			batch(b, 1)
		} else {
			extra++
			if err := a.InsertAudit(ctx, audit.Entry{At: time.Now(), Actor: audit.System, Action: "test.outside", Outcome: audit.Success}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Both instances at once, taking turns at the head.
	var wg sync.WaitGroup
	for _, s := range []*postgres.Store{a, b, a} {
		wg.Go(func() {
			var inner sync.WaitGroup
			for range 24 {
				inner.Go(func() {
					if err := write(s, -1); err != nil {
						t.Error(err)
					}
				})
			}
			inner.Wait()
		})
	}
	wg.Wait()
	total += 72

	events, tree := eventsInOneOrder(t, gdb, total)
	fresh, err := postgres.New(gdb, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	want, _ := tree.Root(int64(len(events)))
	for name, s := range map[string]*postgres.Store{"a": a, "b": b, "a fresh store": fresh} {
		if got, err := translog.TreeHash(ctx, s, int64(len(events))); err != nil || got != want {
			t.Errorf("%s: root %v, %v; want %v", name, got, err, want)
		}
	}
	records, err := a.Audit(ctx, audit.Filter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != total+extra {
		t.Fatalf("%d audit entries, want %d", len(records), total+extra)
	}
	prev := audit.ChainStart
	for i := range records {
		rec := records[len(records)-1-i] // newest first
		if rec.ID != int64(i+1) {
			t.Fatalf("audit entry %d has id %d", i+1, rec.ID)
		}
		if prev = audit.Chain(prev, rec.ID, rec.Entry); !bytes.Equal(prev, rec.Chain) {
			t.Fatalf("audit chain breaks at %d", rec.ID)
		}
	}

	// a's batches: some committed as prepared, some prepared on a head
	// that b had moved and run again under it.
	families, err := metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]float64{}
	for _, f := range families {
		if f.GetName() == "registry_sequencer_batches_total" {
			for _, m := range f.GetMetric() {
				paths[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	t.Logf("a's batches: %v", paths)
	if paths["prepared"] == 0 || paths["missed"] == 0 {
		t.Errorf("a's batches %v: none prepared, or none missed", paths)
	}
}

// committedEvent is an event row as the sequencer's tests read it back.
type committedEvent struct {
	LogIndex     int64
	Number       string
	RegisteredAt time.Time
	Record       []byte
}

// eventsInOneOrder reads the committed events, checks that there are want
// of them with one order for log positions, numbers and times and no gaps,
// and returns them with the log tree of their records.
func eventsInOneOrder(t *testing.T, gdb *gorm.DB, want int) ([]committedEvent, *translog.MemoryTree) {
	t.Helper()
	var events []committedEvent
	if err := gdb.Raw("SELECT log_index, number, registered_at, COALESCE(log_record, record) AS record FROM events ORDER BY log_index").Scan(&events).Error; err != nil {
		t.Fatal(err)
	}
	if len(events) != want {
		t.Fatalf("%d events committed, want %d", len(events), want)
	}
	tree := &translog.MemoryTree{}
	for i, e := range events {
		if e.LogIndex != int64(i) {
			t.Fatalf("event %d at log position %d", i, e.LogIndex)
		}
		if seq, _ := strconv.Atoi(e.Number[8:18]); seq != i+1 {
			t.Errorf("event %d has sequence %d in %s", i, seq, e.Number)
		}
		if i > 0 && !e.RegisteredAt.After(events[i-1].RegisteredAt) {
			t.Errorf("event %d at %v, not after %v", i, e.RegisteredAt, events[i-1].RegisteredAt)
		}
		if err := tree.Append(int64(i), e.Record); err != nil {
			t.Fatal(err)
		}
	}
	return events, tree
}
