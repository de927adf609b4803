package httpapi_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/httpapi"
	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/registry"
)

// TestClockSteps steps the wall clock back an hour, forward a day and back
// again: registration times and numbers keep increasing, and what the
// register's time decided (an expiry) is not undone by a clock stepped
// back; the register's time stands still meanwhile, by as much as the
// clock is behind (the metric registry_clock_behind_seconds).
func TestClockSteps(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, longLived)
	clock := registry.Monotonic(e.clock.Now)
	svc := registry.NewService(e.store, clock.Now, registry.Config{AdminToken: adminToken, TokenTTL: 100 * 365 * 24 * time.Hour})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.h = httpx.New(httpx.Options{Logger: log, Now: e.clock.Now}, httpapi.NewRouter(svc, httpapi.Options{Logger: log, Now: e.clock.Now}), nil)
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	var lastAt time.Time
	var lastNumber string
	file := func(months int) map[string]any {
		t.Helper()
		f := filing(grantorName, usccs[1])
		f["period_months"] = months
		r := e.must(201, e.do("POST", "/registrations", bank.Token, f))
		at, err := time.Parse(time.RFC3339Nano, r["registered_at"].(string))
		if err != nil {
			t.Fatal(err)
		}
		n := r["number"].(string)
		if !at.After(lastAt) || n <= lastNumber {
			t.Errorf("filed at %s as %s after %s as %s: not after", at, n, lastAt, lastNumber)
		}
		lastAt, lastNumber = at, n
		return r
	}
	file(12)
	e.clock.Advance(-time.Hour)
	file(12)
	if b := clock.Behind(); b < 59*time.Minute || b > time.Hour {
		t.Errorf("an hour back: behind by %s", b)
	}
	e.clock.Advance(25 * time.Hour)
	if b := clock.Behind(); b != 0 {
		t.Errorf("a day forward: behind by %s", b)
	}
	forward := file(12)
	if at, _ := time.Parse(time.RFC3339Nano, forward["registered_at"].(string)); time.Until(at) < 23*time.Hour {
		t.Errorf("a day forward, filed at %s", at)
	}
	e.clock.Advance(-24 * time.Hour)
	file(12)
	// A registration expires by the register's time; the clock stepped
	// back across its expiry does not make it effective again.
	short := file(1)
	expires, _ := time.Parse(time.RFC3339Nano, short["expires_at"].(string))
	e.clock.Advance(expires.Add(time.Minute).Sub(e.clock.Now()))
	get := func() any {
		return e.must(200, e.do("GET", "/registrations/"+short["number"].(string), bank.Token, nil))["status"]
	}
	if s := get(); s != "expired" {
		t.Fatalf("a minute after expiry: %v", s)
	}
	e.clock.Advance(-time.Hour)
	if s := get(); s != "expired" {
		t.Errorf("the clock stepped back across the expiry: %v, want still expired", s)
	}
	file(12)
}
