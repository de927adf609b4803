package registry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/registry"
)

// statistics fakes the one method the statistics read: it embeds the Store
// (nil), so a call to anything else panics and shows what else a feature
// needs. This is how a feature's rules are tested without a database.
type statistics struct {
	registry.Store
	rows     []registry.StatRow
	withheld []bool
	// asked is what the service asked for.
	asked struct {
		from, to time.Time
		by       string
		withhold bool
	}
}

func (f *statistics) Statistics(_ context.Context, from, to time.Time, by string, withhold bool) ([]registry.StatRow, []bool, error) {
	f.asked.from, f.asked.to, f.asked.by, f.asked.withhold = from, to, by, withhold
	return f.rows, f.withheld, nil
}

func month(y int, m time.Month) time.Time { return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC) }

// The public sees no month and province with a handful of searches; staff
// see exact counts; by default, the last twelve months by month.
func TestStatisticsWithholdFewSearchesFromThePublic(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC) }
	hidden := "2026-11"
	store := &statistics{rows: []registry.StatRow{{Month: &hidden, Registrations: 7}}, withheld: []bool{true}}
	svc := registry.NewService(store, now, registry.Config{})

	public := registry.Caller{}
	got, err := svc.Statistics(context.Background(), public, registry.StatisticsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !store.asked.withhold || store.asked.by != "month" || !store.asked.from.Equal(month(2026, 1)) || !store.asked.to.Equal(month(2027, 1)) {
		t.Errorf("asked the store for %+v, want the months 2026-01 to 2026-12 by month, withheld", store.asked)
	}
	want := []registry.StatRow{{Month: &hidden, Registrations: 7, SearchesBelow: registry.SmallCount}}
	if diff := cmp.Diff(want, got.Rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}

	auditor := registry.Caller{Principal: auth.Principal{UserID: "u", Roles: []auth.Role{auth.Auditor}}}
	if _, err := svc.Statistics(context.Background(), auditor, registry.StatisticsRequest{From: "2026-03", To: "2026-05", By: "province"}); err != nil {
		t.Fatal(err)
	}
	if store.asked.withhold || store.asked.by != "province" || !store.asked.to.Equal(month(2026, 6)) {
		t.Errorf("an auditor's question reached the store as %+v, want exact counts by province to 2026-06", store.asked)
	}

	_, err = svc.Statistics(context.Background(), public, registry.StatisticsRequest{From: "2026-13", By: "colour"})
	var v *registry.ValidationError
	if !errors.As(err, &v) || len(v.Errors) != 2 || v.Errors[0].Field != "from" || v.Errors[1].Field != "by" {
		t.Errorf("a bad month and grouping: %v, want errors naming from and by", err)
	}
}
