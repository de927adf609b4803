package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/names"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/movable-registry/registry/internal/pgtest"
	"github.com/movable-registry/registry/internal/postgres"
	"github.com/movable-registry/registry/internal/registry"
)

// A name that one registryd files, or renames a grantor to, is offered as a
// similar name by another registryd on the same database (its follower
// hears of it, or polls), and no longer once the registration is cancelled.
func TestSimilarNamesFromAnotherInstance(t *testing.T) {
	t.Parallel()
	url, gdb := pgtest.Open(t)
	writer, err := postgres.New(gdb, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	otherDB, err := postgres.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := postgres.New(otherDB, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		reader.Close()
		if sqlDB, err := otherDB.DB(); err == nil {
			sqlDB.Close()
		}
	}()
	ctx := context.Background()
	if _, err := reader.LoadNames(ctx); err != nil {
		t.Fatal(err)
	}
	var head registry.RegistrationHead
	file := func(name string) {
		t.Helper()
		err := writer.Sequence(ctx, registry.StampEvent, func(tx registry.Tx, st registry.Stamp) error {
			head = registry.RegistrationHead{Number: st.Number, Kind: "chattel_mortgage", RegisteredAt: st.At,
				ExpiresAt: st.At.AddDate(1, 0, 0), ControllerID: "", ControllerUSCC: "91310000132209458L", Status: registry.StatusEffective}
			if err := tx.InsertRegistration(ctx, head, []byte("code")); err != nil {
				return err
			}
			return tx.IndexParties(ctx, st.Number, st.At, []registry.IndexedParty{{Role: registry.RoleGrantor,
				Party: registry.Party{Type: "organization", Name: name}}})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The grantor renamed: the new name indexed, the former one kept.
	rename := func(from, to string) {
		t.Helper()
		err := writer.Sequence(ctx, registry.StampEvent, func(tx registry.Tx, st registry.Stamp) error {
			return tx.IndexParties(ctx, head.Number, st.At, []registry.IndexedParty{
				{Role: registry.RoleGrantor, Party: registry.Party{Type: "organization", Name: to}},
				{Role: registry.RoleFormerGrantor, Party: registry.Party{Type: "organization", Name: from}}})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	cancel := func() {
		t.Helper()
		err := writer.Sequence(ctx, registry.StampEvent, func(tx registry.Tx, st registry.Stamp) error {
			h := head
			h.Status, h.EndedAt = registry.StatusCancelled, &st.At
			return tx.UpdateRegistration(ctx, h)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	similar := func(s *postgres.Store, name string) []string {
		t.Helper()
		got, err := s.SimilarNames(ctx, registry.SimilarQuery{Name: name, Key: names.Normalize(name).Key, AsOf: time.Now()}, 5)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	eventually := func(name string, want []string) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for {
			got := similar(reader, name)
			if slices.Equal(got, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the other instance still offers %v for %s after 3 s, want %v", got, name, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	file("上海星辰精密机械有限公司")
	if got := similar(writer, "上海星晨精密机械有限公司"); !slices.Equal(got, []string{"上海星辰精密机械有限公司"}) {
		t.Errorf("the writer offers %v at once", got)
	}
	eventually("上海星晨精密机械有限公司", []string{"上海星辰精密机械有限公司"})
	if s := reader.NamesStats(); s.Names != 1 || s.Bytes == 0 {
		t.Errorf("the other instance's index: %+v", s)
	}
	rename("上海星辰精密机械有限公司", "上海星光智能装备有限公司")
	eventually("上海星光智能装备有眼公司", []string{"上海星光智能装备有限公司"})
	eventually("上海星晨精密机械有限公司", []string{"上海星辰精密机械有限公司"}) // the former name still finds it
	cancel()
	// Whether a name is offered is read from the register: at once.
	if got := similar(reader, "上海星光智能装备有眼公司"); len(got) != 0 {
		t.Errorf("the other instance offers %v once the registration is cancelled", got)
	}
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(reader.Collectors()...)
	families, err := metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if m := f.GetMetric(); len(m) == 1 && m[0].GetGauge() != nil {
			got[f.GetName()] = m[0].GetGauge().GetValue()
		}
	}
	if got["registry_similar_names"] != 2 || got["registry_similar_names_bytes"] <= 0 {
		t.Errorf("the index's metrics: %v", got)
	}
}
