package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/pgtest"
	"github.com/movable-registry/registry/internal/postgres"
	"github.com/movable-registry/registry/internal/registry"
)

// TestCloseLeavesNoGoroutine: the goroutines a Store starts (the
// sequencer's loop, the loop that answers batches once on disk, the
// appender of stamped searches' rows, the similar names' follower) are
// its own, and none of them outlives Close; writes after Close are
// refused, not left waiting.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	_, gdb := pgtest.Open(t)
	ctx := context.Background()
	// The pool's own goroutines belong to the database handle, not to
	// the store: warm it before counting.
	if err := gdb.Exec("SELECT 1").Error; err != nil {
		t.Fatal(err)
	}
	before := goleak.IgnoreCurrent()
	store, err := postgres.New(gdb, time.Now, postgres.MaxBatch(8), postgres.MaxWait(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.LoadNames(ctx); err != nil {
		t.Fatal(err)
	}
	// Writes that share batches (answered by the durable loop) and
	// searches stamped in them (read apart, their rows appended).
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			if i%2 == 1 {
				errs[i] = store.Sequence(ctx, registry.StampSearchAsOf, func(registry.Tx, registry.Stamp) error { return nil })
				return
			}
			errs[i] = store.Sequence(ctx, registry.StampEvent, func(tx registry.Tx, st registry.Stamp) error {
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
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	store.Close()
	goleak.VerifyNone(t, before)
	err = store.Sequence(ctx, registry.StampEvent, func(registry.Tx, registry.Stamp) error { return nil })
	if err == nil {
		t.Error("a write after Close was taken")
	}
}
