package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/pgtest"
	"github.com/movable-registry/registry/internal/postgres"
)

// Two instances on one database: while one runs a job under a name, the
// other's run is skipped; once the first is gone (its connection closed, as
// a killed process's is), the other runs it.
func TestExclusiveRunsOnOneInstanceAtATime(t *testing.T) {
	url, gdb := pgtest.Open(t)
	a, err := postgres.New(gdb, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	// The second instance has connections of its own.
	gdb2, err := postgres.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	b, err := postgres.New(gdb2, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	holding, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := a.Exclusive(ctx, "sign checkpoints", func() error {
			close(holding)
			<-release
			return nil
		})
		done <- err
	}()
	<-holding
	ran, err := b.Exclusive(ctx, "sign checkpoints", func() error { return nil })
	if err != nil || ran {
		t.Fatalf("while another instance holds the job: ran %v, %v", ran, err)
	}
	if ran, err := b.Exclusive(ctx, "record deadlines", func() error { return nil }); err != nil || !ran {
		t.Errorf("another job's name: ran %v, %v", ran, err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ran, err := b.Exclusive(ctx, "sign checkpoints", func() error { return nil }); err != nil || !ran {
		t.Errorf("after the first instance finished: ran %v, %v", ran, err)
	}
	// An instance that dies holding the lock frees it with its connection
	// (its backend ended here, as a killed process's connection ends).
	holding2, hang := make(chan struct{}), make(chan struct{})
	defer close(hang)
	go func() {
		_, _ = a.Exclusive(ctx, "sign checkpoints", func() error {
			close(holding2)
			<-hang
			return nil
		})
	}()
	<-holding2
	start := time.Now()
	if err := gdb2.Exec("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()").Error; err != nil {
		t.Fatal(err)
	}
	for {
		ran, err := b.Exclusive(ctx, "sign checkpoints", func() error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if ran {
			break
		}
		if time.Since(start) > 3*time.Second {
			t.Fatal("the lock of a dead instance was not freed within 3 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
