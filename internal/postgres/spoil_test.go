package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/pgtest"
	"github.com/movable-registry/registry/internal/postgres"
	"github.com/movable-registry/registry/internal/registry"
)

// reruns is how many writes the sequencer ran again alone.
func reruns(t *testing.T, metrics *prometheus.Registry) float64 {
	t.Helper()
	families, err := metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, f := range families {
		if f.GetName() == "registry_sequencer_reruns_total" {
			for _, m := range f.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

func batchedStore(t *testing.T) (*postgres.Store, *prometheus.Registry, func(string) int) {
	t.Helper()
	_, gdb := pgtest.Open(t)
	store, err := postgres.New(gdb, time.Now, postgres.MaxBatch(64), postgres.MaxWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(store.Collectors()...)
	db, _ := gdb.DB()
	count := func(query string) int {
		var n int
		if err := db.QueryRow(query).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	return store, metrics, count
}

// A third of a batch's clients hang up while their writes read: the batch's
// statements run on its own context, so nobody else's write is rolled back
// or run again, and the writes of those who left still commit (their
// clients can learn so through their Idempotency-Keys).
func TestClientsThatHangUpDoNotSpoilTheBatch(t *testing.T) {
	t.Parallel()
	store, metrics, count := batchedStore(t)
	const n = 30
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errs[i] = store.Sequence(ctx, registry.StampEvent, func(tx registry.Tx, st registry.Stamp) error {
				if i%3 == 0 {
					// Hang up while this write is reading.
					time.AfterFunc(3*time.Millisecond, cancel)
				}
				for end := time.Now().Add(10 * time.Millisecond); time.Now().Before(end); {
					if _, err := tx.LogSize(ctx); err != nil {
						return err
					}
				}
				if err := tx.InsertEvent(ctx, registry.EventRecord{LogIndex: st.LogIndex, Number: st.Number, Type: "initial",
					RegistrationNumber: st.Number, At: st.At, Record: fmt.Appendf(nil, `{"write":%d}`, i)}); err != nil {
					return err
				}
				return tx.InsertAudit(ctx, audit.Entry{At: st.At, Actor: audit.System, Action: "test.write", Target: st.Number, Outcome: audit.Success})
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if i%3 != 0 && err != nil {
			t.Errorf("write %d, whose client stayed: %v", i, err)
		}
	}
	if r := reruns(t, metrics); r != 0 {
		t.Errorf("%.0f writes run again alone: the clients that hung up spoiled their batches", r)
	}
	if got := count("SELECT count(*) FROM events"); got != n {
		t.Errorf("%d events committed, want all %d", got, n)
	}
}

// A fifth of a batch's writes are retries of writes already answered (their
// Idempotency-Key is claimed) and some refuse after claiming a key: each
// costs only itself. The replays get the stored answer, the refusals leave
// no key behind, and no write is run again alone.
func TestReplaysAndRefusalsCostOnlyThemselves(t *testing.T) {
	t.Parallel()
	store, metrics, count := batchedStore(t)
	ctx := context.Background()
	errRefused := errors.New("refused after claiming its key")
	errReplay := errors.New("replayed")
	write := func(key string, refuse bool) ([]byte, error) {
		var answer []byte
		err := store.Sequence(ctx, registry.StampEvent, func(tx registry.Tx, st registry.Stamp) error {
			prior, claimed, err := tx.ClaimIdempotencyKey(ctx, []byte(key), []byte("fingerprint"), st.At, st.At.Add(-24*time.Hour))
			if err != nil {
				return err
			}
			if !claimed {
				answer = prior.Sealed
				return errReplay
			}
			if err := tx.InsertEvent(ctx, registry.EventRecord{LogIndex: st.LogIndex, Number: st.Number, Type: "initial",
				RegistrationNumber: st.Number, At: st.At, Record: []byte(`{"key":"` + key + `"}`)}); err != nil {
				return err
			}
			if err := tx.InsertAudit(ctx, audit.Entry{At: st.At, Actor: audit.System, Action: "test.write", Target: st.Number, Outcome: audit.Success}); err != nil {
				return err
			}
			if refuse {
				return errRefused
			}
			answer = []byte("answer " + key)
			return tx.SaveIdempotentResponse(ctx, []byte(key), answer)
		})
		return answer, err
	}
	for i := range 10 {
		if _, err := write(fmt.Sprintf("earlier-%d", i), false); err != nil {
			t.Fatal(err)
		}
	}
	const n = 50
	var wg sync.WaitGroup
	answers, errs := make([][]byte, n), make([]error, n)
	for i := range n {
		wg.Go(func() {
			switch {
			case i%5 == 0: // a retry of an answered write
				answers[i], errs[i] = write(fmt.Sprintf("earlier-%d", i/5), false)
			case i%7 == 0: // refused after its claim
				answers[i], errs[i] = write(fmt.Sprintf("refused-%d", i), true)
			default:
				answers[i], errs[i] = write(fmt.Sprintf("new-%d", i), false)
			}
		})
	}
	wg.Wait()
	refused := 0
	for i := range n {
		switch {
		case i%5 == 0:
			if !errors.Is(errs[i], errReplay) || !bytes.Equal(answers[i], []byte(fmt.Sprintf("answer earlier-%d", i/5))) {
				t.Errorf("retry %d: %v, %q", i, errs[i], answers[i])
			}
		case i%7 == 0:
			refused++
			if !errors.Is(errs[i], errRefused) {
				t.Errorf("refusal %d: %v", i, errs[i])
			}
		default:
			if errs[i] != nil {
				t.Errorf("write %d: %v", i, errs[i])
			}
		}
	}
	if r := reruns(t, metrics); r != 0 {
		t.Errorf("%.0f writes run again alone: replays or refusals spoiled their batches", r)
	}
	if got := count("SELECT count(*) FROM idempotency_keys WHERE id::text LIKE '%726566757365%'"); got != 0 {
		t.Errorf("%d keys of refused writes kept", got)
	}
	if got, want := count("SELECT count(*) FROM events"), 10+n-n/5-refused; got != want {
		t.Errorf("%d events, want %d", got, want)
	}
}
