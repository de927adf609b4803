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

// TestEraseFromSearch: a stored answer rewritten by the erasure loses the
// erased registration's individuals and, when it searched for one of
// them, its criteria, and keeps every other byte's meaning: decoded again,
// it differs from the answer as given only there. An answer that never
// showed the registration is left as it is (nil), its pages still erased.
func TestEraseFromSearch(t *testing.T) {
	at := At(time.Date(2042, 1, 31, 2, 0, 0, 0, time.UTC))
	org := Party{Type: "organization", Name: "上海星辰精密机械有限公司", USCC: "91310115MA1K3YJ12G", Address: "上海市浦东新区张江路88号"}
	person := Party{Type: "individual", Name: "李四海", IDNumber: "11010519491231002X", Address: "北京市朝阳区建国路1号"}
	reg := func(number string, grantors ...Party) SearchResult {
		return SearchResult{MatchedBy: MatchIDNumber, Registration: Registration{Number: number, Kind: "chattel_mortgage", Status: StatusEffective,
			Grantors: grantors, SecuredParties: []Party{org}, Objections: []Objection{}, History: []HistoryEntry{}}}
	}
	cert := SearchCertificate{Number: "20270131000000000100", SearchedAt: At(at.AddDate(-16, 0, 0)), AsOf: At(at.AddDate(-16, 0, 0)),
		Criteria: Criteria{IDNumber: person.IDNumber}, RegisterPosition: 7, ResultCount: 3, Truncated: true, NextCursor: "2",
		Results: []SearchResult{reg("20270131000000000001", person, org), reg("20270131000000000002", org)}, SimilarNames: []string{},
		Warnings: []Warning{{Code: "mixed_scripts", Message: "x"}}}
	page := SearchPage{Number: cert.Number, AsOf: cert.AsOf, ResultCount: 3, Cursor: "2", Results: []SearchResult{reg("20270131000000000001", person)}}
	shown := ShownSearch{Number: cert.Number, Body: canonical(cert), Pages: []ShownPage{{Cursor: 2, Body: canonical(page)}}}
	who := individuals{"11010519491231002X": true}

	got, criteria, err := eraseFromSearch(shown, "20270131000000000001", who, at.Time)
	if err != nil {
		t.Fatal(err)
	}
	want := cert
	want.Results = []SearchResult{reg("20270131000000000001", Party{Type: "individual"}, org), reg("20270131000000000002", org)}
	want.Results[0].Registration.ErasedAt = &at
	want.Criteria, want.CriteriaErased, want.ErasedAt = Criteria{}, true, &at
	if diff := cmp.Diff(string(canonical(want)), string(got.Body)); diff != "" {
		t.Errorf("the answer erased (-want +got):\n%s", diff)
	}
	if criteria != (Criteria{}) {
		t.Errorf("criteria %+v, want none", criteria)
	}
	wantPage := page
	wantPage.Results = []SearchResult{reg("20270131000000000001", Party{Type: "individual"})}
	wantPage.Results[0].Registration.ErasedAt, wantPage.ErasedAt = &at, &at
	if len(got.Pages) != 1 || got.Pages[0].Cursor != 2 || !bytes.Equal(got.Pages[0].Body, canonical(wantPage)) {
		t.Errorf("the page erased: %+v", got.Pages)
	}

	// Shown only on a later page, and searched by another key.
	cert.Criteria, cert.Results = Criteria{USCC: org.USCC}, cert.Results[1:]
	shown.Body = canonical(cert)
	got, criteria, err = eraseFromSearch(shown, "20270131000000000001", who, at.Time)
	if err != nil {
		t.Fatal(err)
	}
	if got.Body != nil || criteria != cert.Criteria || len(got.Pages) != 1 || bytes.Contains(got.Pages[0].Body, []byte(person.Name)) {
		t.Errorf("an answer that did not show it: body %s, criteria %+v, pages %+v", got.Body, criteria, got.Pages)
	}
}
