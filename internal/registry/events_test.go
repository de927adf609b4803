package registry

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// life builds the records of one registration's events, a minute apart.
func life(t testing.TB, start time.Time, events ...struct {
	typ  string
	data any
}) []EventRecord {
	t.Helper()
	var out []EventRecord
	reg := FormatNumber(start, 1)
	for i, e := range events {
		at := start.Add(time.Duration(i) * time.Minute)
		st := Stamp{Number: FormatNumber(at, int64(i+1)), At: at, LogIndex: int64(i)}
		out = append(out, newEvent(Caller{}, st, e.typ, reg, e.data))
	}
	return out
}

type ev = struct {
	typ  string
	data any
}

func TestReplay(t *testing.T) {
	start := time.Date(2027, 1, 31, 2, 0, 0, 0, time.UTC)
	grantor := Party{Type: "organization", Name: "上海星辰精密机械有限公司", USCC: "91310115MA1K3YJ12G"}
	renamed := Party{Type: "organization", Name: "上海星辰智能装备有限公司", USCC: "91310115MA1K3YJ12G"}
	records := life(t, start,
		ev{EventInitial, initialData{Kind: "factoring", Grantors: []Party{grantor}, PeriodMonths: 1, ExpiresAt: At(AddMonths(start, 1)),
			Collateral: Collateral{Description: "receivables", Items: []Item{{ID: "a", SerialNumber: "S1"}}}}},
		ev{EventAmendment, amendmentData{RenameGrantors: []Rename{{From: grantor, To: renamed}}, RemoveItemIDs: []string{"a"}}},
		ev{EventObjection, objectionData{Statement: "no", LapsesAt: At(start.Add(2*time.Minute).AddDate(0, 0, 30))}},
		ev{EventExtension, extensionData{PeriodMonths: 2, ExpiresAt: At(AddMonths(AddMonths(start, 1), 2))}},
	)
	regs, err := replay(records)
	if err != nil {
		t.Fatal(err)
	}
	r := regs[0]
	if diff := cmp.Diff(r.Grantors[0].FormerNames, []string{grantor.Name}); diff != "" {
		t.Errorf("former names: %s", diff)
	}
	if len(r.Collateral.Items) != 0 || r.PeriodMonths != 3 || !r.ExpiresAt.Equal(time.Date(2027, 4, 28, 2, 0, 0, 0, time.UTC)) {
		t.Errorf("replayed = %+v", r)
	}
	objection := records[2].Number
	lapse := start.Add(2*time.Minute).AddDate(0, 0, 30)
	for _, c := range []struct {
		at   time.Time
		want string
	}{{lapse.Add(-time.Microsecond), ObjectionActive}, {lapse, ObjectionLapsed}} {
		f := finish(r, c.at)
		if got := f.Objections[0].Status; got != c.want || f.Objections[0].Number != objection {
			t.Errorf("at %v: %s, want %s", c.at, got, c.want)
		}
	}
	// finish works on a copy: the replayed state is not changed by it.
	if r.Objections[0].Status != "" {
		t.Errorf("finish changed its input: %q", r.Objections[0].Status)
	}
	if f := finish(r, start); f.Version != 4 || f.LogIndex != 3 || f.Status != StatusEffective {
		t.Errorf("finished = version %d, log index %d, %s", f.Version, f.LogIndex, f.Status)
	}
}

func TestReplayRefusesBrokenLogs(t *testing.T) {
	start := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	initial := ev{EventInitial, initialData{Kind: "other", ExpiresAt: At(start.AddDate(1, 0, 0))}}
	cases := map[string][]EventRecord{
		"no initial event":   life(t, start, ev{EventCancellation, cancellationData{Reason: "other"}}),
		"unknown event type": life(t, start, initial, ev{"merger", struct{}{}}),
		"unknown objection":  life(t, start, initial, ev{EventObjectionWithdrawal, withdrawalData{Objection: "x"}}),
		"unknown grantor":    life(t, start, initial, ev{EventAmendment, amendmentData{RemoveGrantors: []Party{{Type: "organization", Name: "x"}}}}),
	}
	garbled := life(t, start, initial)
	garbled[0].Record = []byte(strings.Replace(string(garbled[0].Record), `"kind":"other"`, `"kind":7`, 1))
	cases["a record that does not decode"] = garbled
	for name, records := range cases {
		if _, err := replay(records); err == nil {
			t.Errorf("%s: replayed without an error", name)
		}
	}
}

func BenchmarkReplay(b *testing.B) {
	start := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	f := Filing{Kind: "chattel_mortgage",
		Grantors:       []Party{{Type: "organization", Name: "上海星辰精密机械有限公司", USCC: "91310115MA1K3YJ12G"}},
		SecuredParties: []Party{{Type: "organization", Name: "上海浦东发展银行股份有限公司张江科技支行", USCC: "91310000132209458L"}},
	}
	records := life(b, start,
		ev{EventInitial, initialData{Kind: f.Kind, Grantors: f.Grantors, SecuredParties: f.SecuredParties, PeriodMonths: 36,
			ExpiresAt: At(AddMonths(start, 36)), Collateral: Collateral{Description: strings.Repeat("CNC machining centre; ", 10),
				Items: []Item{{ID: "1", Type: "equipment", SerialNumber: "DMG-2019-004411", RegisteredAt: At(start)}}}}},
		ev{EventExtension, extensionData{PeriodMonths: 12, ExpiresAt: At(AddMonths(start, 48))}},
	)
	b.ReportAllocs()
	for b.Loop() {
		regs, err := replay(records)
		if err != nil {
			b.Fatal(err)
		}
		_ = canonical(finish(regs[0], start))
	}
}
