package registry

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestReplayOfErasedEvents: a registration whose events were erased
// replays to the same state save its individuals' names, identity numbers
// and addresses, which are empty, and ErasedAt; each erased event keeps the
// leaf it had, whether the leaf holds commitments or, as older events'
// leaves do, the values in clear.
func TestReplayOfErasedEvents(t *testing.T) {
	start := time.Date(2027, 1, 31, 2, 0, 0, 0, time.UTC)
	org := Party{Type: "organization", Name: "上海星辰精密机械有限公司", USCC: "91310115MA1K3YJ12G", Address: "上海市浦东新区张江路88号"}
	person := Party{Type: "individual", Name: "李四海", IDNumber: "11010519491231002X", Address: "北京市朝阳区建国路1号"}
	other := Party{Type: "individual", Name: "王小梅", IDNumber: "11010119900307803X", Address: "上海市徐汇区漕溪北路2号"}
	records := life(t, start,
		ev{EventInitial, initialData{Kind: "other", Grantors: []Party{org, person}, SecuredParties: []Party{org}, PeriodMonths: 12, ExpiresAt: At(AddMonths(start, 12))}},
		ev{EventAmendment, amendmentData{AddGrantors: []Party{other}}},
		ev{EventAmendment, amendmentData{RemoveGrantors: []Party{person}}},
		ev{EventCancellation, cancellationData{Reason: "debt_repaid"}},
	)
	// The second event as an older one was: its leaf is its record, the
	// values in clear.
	records[1].LogRecord, records[1].Openings = nil, nil
	leaves := make([][]byte, len(records))
	for i, r := range records {
		leaves[i] = r.Leaf()
	}
	regs, err := replay(records)
	if err != nil {
		t.Fatal(err)
	}
	at := start.AddDate(16, 0, 0)
	erased := make([]EventRecord, len(records))
	for i, r := range records {
		// As read back from the store: not yet decoded.
		r.decoded = nil
		e, err := EraseRecord(r, at)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(e.Leaf(), leaves[i]) || e.Openings != nil || e.ErasedAt == nil {
			t.Errorf("event %d: leaf kept %v, openings %v, erased at %v", i, bytes.Equal(e.Leaf(), leaves[i]), e.Openings, e.ErasedAt)
		}
		for _, personal := range []string{person.Name, person.IDNumber, person.Address, other.Name, other.IDNumber, other.Address} {
			if bytes.Contains(e.Record, []byte(personal)) {
				t.Errorf("event %d: its record holds %q", i, personal)
			}
		}
		// Stored and read again: only the record and erased_at.
		erased[i] = EventRecord{LogIndex: e.LogIndex, Number: e.Number, Type: e.Type, RegistrationNumber: e.RegistrationNumber, At: e.At, Record: e.Record, ErasedAt: e.ErasedAt}
	}
	got, err := replay(erased)
	if err != nil {
		t.Fatal(err)
	}
	want := finish(regs[0], at)
	want.Grantors = []Party{org, {Type: "individual"}}
	when := At(at)
	want.ErasedAt = &when
	if diff := cmp.Diff(want, finish(got[0], at), cmp.AllowUnexported(Registration{}, Objection{})); diff != "" {
		t.Errorf("the erased registration replays otherwise (-want +got):\n%s", diff)
	}
	// A verifier gets the leaves and erased_at: it replays the same.
	var fromLog []EventRecord
	for i, e := range erased {
		opened, err := OpenRecord(leaves[i], nil)
		if err != nil {
			t.Fatal(err)
		}
		if opened, err = EraseRecord(opened, *e.ErasedAt); err != nil {
			t.Fatal(err)
		}
		fromLog = append(fromLog, opened)
	}
	verified, err := Replay(fromLog, farFuture, at)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(StateDigest(finish(got[0], at)), StateDigest(verified[0])); diff != "" {
		t.Errorf("the verifier's replay differs: %s", diff)
	}
}
