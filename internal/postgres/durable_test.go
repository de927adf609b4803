package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/pgtest"
	"github.com/movable-registry/registry/internal/postgres"
	"github.com/movable-registry/registry/internal/registry"
)

// TestBatchAnswersWaitForTheDisk makes the flush barrier fail: the writes
// of a batch, which commits without waiting for the disk, are then not
// answered as done but as unavailable (their outcome is not known to be
// durable), though their rows are committed. A write that ran alone
// commits synchronously and is answered as done.
func TestBatchAnswersWaitForTheDisk(t *testing.T) {
	t.Parallel()
	_, gdb := pgtest.Open(t)
	store, err := postgres.New(gdb, time.Now, postgres.MaxBatch(64), postgres.MaxWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	postgres.SetFlushBarrier(store, "SELECT no_such_function()")
	ctx := context.Background()
	const n = 24
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = store.Sequence(ctx, registry.StampEvent, func(tx registry.Tx, st registry.Stamp) error {
				return tx.InsertEvent(ctx, registry.EventRecord{LogIndex: st.LogIndex, Number: st.Number, Type: "initial",
					RegistrationNumber: st.Number, At: st.At, Record: fmt.Appendf(nil, `{"write":%d}`, i)})
			})
		})
	}
	wg.Wait()
	unavailable := 0
	for i, err := range errs {
		var ue *registry.UnavailableError
		switch {
		case errors.As(err, &ue):
			unavailable++
		case err != nil:
			t.Errorf("write %d: %v", i, err)
		}
	}
	if unavailable == 0 {
		t.Fatal("every write was answered as done though the flush barrier failed")
	}
	var committed int64
	if err := gdb.Raw("SELECT count(*) FROM events").Scan(&committed).Error; err != nil {
		t.Fatal(err)
	}
	if committed != n {
		t.Errorf("%d of %d writes committed", committed, n)
	}
	t.Logf("%d writes answered unavailable, %d done alone; all %d committed", unavailable, n-unavailable, committed)
}
