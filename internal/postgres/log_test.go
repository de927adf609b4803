package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/pgtest"
	"github.com/movable-registry/registry/internal/postgres"
	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/translog"
)

// TestRolledBackAppendsLeaveNoTrace appends events, every third one first in
// a transaction that rolls back with another record at the same position:
// the tree the store computes, from its memory and from the database alone,
// is the one of the records that committed.
func TestRolledBackAppendsLeaveNoTrace(t *testing.T) {
	t.Parallel()
	_, gdb := pgtest.Open(t)
	store, err := postgres.New(gdb, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	errRollBack := errors.New("roll back")
	tree := &translog.MemoryTree{}
	appendOnce := func(i int, record string, fail bool) error {
		return store.Sequence(ctx, registry.StampEvent, func(tx registry.Tx, st registry.Stamp) error {
			if err := tx.InsertEvent(ctx, registry.EventRecord{LogIndex: st.LogIndex, Number: st.Number, Type: "initial",
				RegistrationNumber: st.Number, At: st.At, Record: []byte(record)}); err != nil {
				return err
			}
			if fail {
				return errRollBack
			}
			return nil
		})
	}
	const n = 40
	for i := range n {
		if i%3 == 0 {
			if err := appendOnce(i, fmt.Sprintf(`{"rolled back":%d}`, i), true); !errors.Is(err, errRollBack) {
				t.Fatalf("append %d: %v", i, err)
			}
		}
		record := fmt.Sprintf(`{"committed":%d}`, i)
		if err := appendOnce(i, record, false); err != nil {
			t.Fatal(err)
		}
		if err := tree.Append(int64(i), []byte(record)); err != nil {
			t.Fatal(err)
		}
	}
	want, _ := tree.Root(n)
	fresh, err := postgres.New(gdb, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*postgres.Store{"the store that wrote": store, "a fresh store": fresh} {
		got, err := translog.TreeHash(ctx, s, n)
		if err != nil || got != want {
			t.Errorf("%s: root %v, %v; want %v", name, got, err, want)
		}
	}
}
