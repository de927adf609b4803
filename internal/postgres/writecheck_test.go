package postgres_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/movable-registry/registry/internal/pgtest"
	"github.com/movable-registry/registry/internal/postgres"
	"github.com/movable-registry/registry/internal/registry"
)

// A write that changed the database through the handle meant for reads and
// then failed is taken back with its batch, which runs its writes again
// alone; its neighbours commit, and a stamped search, which reads outside
// the batch's transaction, may not write that way at all.
func TestAWriteThroughTheReadHandleIsTakenBack(t *testing.T) {
	t.Parallel()
	_, gdb := pgtest.Open(t)
	if err := gdb.Exec("CREATE TABLE probe (v int)").Error; err != nil {
		t.Fatal(err)
	}
	store, err := postgres.New(gdb, time.Now, postgres.MaxBatch(16), postgres.MaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(store.Collectors()...)
	ctx := context.Background()
	errRefused := errors.New("refused")
	const n, refused = 8, 3
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = store.Sequence(ctx, registry.StampSearch, func(tx registry.Tx, _ registry.Stamp) error {
				if err := postgres.ExecThroughRead(ctx, tx, "INSERT INTO probe (v) VALUES (?)", i); err != nil {
					return err
				}
				if i == refused {
					return errRefused
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		switch {
		case i == refused && !errors.Is(err, errRefused):
			t.Errorf("the refused write answered %v", err)
		case i != refused && err != nil:
			t.Errorf("write %d: %v", i, err)
		}
	}
	var got []int
	if err := gdb.Raw("SELECT v FROM probe ORDER BY v").Scan(&got).Error; err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 1, 2, 4, 5, 6, 7}; !slices.Equal(got, want) {
		t.Errorf("probe holds %v, want %v", got, want)
	}
	families, err := metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var reruns float64
	for _, f := range families {
		if f.GetName() == "registry_sequencer_reruns_total" {
			reruns = f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	if reruns == 0 {
		t.Error("the batch was not run again: the write through the read handle was not seen")
	}

	err = store.Sequence(ctx, registry.StampSearchAsOf, func(tx registry.Tx, _ registry.Stamp) error {
		return postgres.ExecThroughRead(ctx, tx, "INSERT INTO probe (v) VALUES (99)")
	})
	if err == nil {
		t.Error("a stamped search wrote through its read handle")
	}
	var stray int64
	if err := gdb.Raw("SELECT count(*) FROM probe WHERE v = 99").Scan(&stray).Error; err != nil {
		t.Fatal(err)
	}
	if stray != 0 {
		t.Error("a stamped search's write reached the database")
	}
}
