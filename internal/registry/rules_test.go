package registry

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fields lists the fields a validation error names, with their rules
// ("period_months:period"), or nil for none.
func fields(err error) []string {
	if err == nil {
		return nil
	}
	var v *ValidationError
	if !errors.As(err, &v) {
		return []string{"not a validation error: " + err.Error()}
	}
	var out []string
	for _, f := range v.Errors {
		out = append(out, f.Field+":"+string(f.Rule))
	}
	return out
}

// The changes' own rules, each alone, as a table: what each input breaks.
func TestTheChangesRules(t *testing.T) {
	long := strings.Repeat("长", maxText+1)
	tests := []struct {
		name  string
		check func() error
		want  []string
	}{
		{"an extension of a month", Extension{PeriodMonths: 1}.Validate, nil},
		{"an extension of thirty years", Extension{PeriodMonths: maxPeriod}.Validate, nil},
		{"an extension of no months", Extension{}.Validate, []string{"period_months:period"}},
		{"an extension past thirty years", Extension{PeriodMonths: maxPeriod + 1}.Validate, []string{"period_months:period"}},
		{"a cancellation with its reason", (&Cancellation{Reason: "debt_repaid"}).Validate, nil},
		{"a cancellation for no reason", (&Cancellation{}).Validate, []string{"reason:required"}},
		{"a cancellation for a reason the register has not", (&Cancellation{Reason: "bored"}).Validate, []string{"reason:not_one_of"}},
		{"a cancellation with a note too long", (&Cancellation{Reason: "other", Note: long}).Validate, []string{"note:too_long"}},
		{"a revocation on an order", (&Revocation{Authority: "上海市第一中级人民法院", DocumentNumber: "(2026)沪01民初1号"}).Validate, nil},
		{"a revocation on no authority", (&Revocation{DocumentNumber: "(2026)沪01民初1号"}).Validate, []string{"authority:required"}},
		{"a revocation of an objection that is no number", (&Revocation{Authority: "court", DocumentNumber: "1", Objection: "42"}).Validate, []string{"objection:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, fields(tt.check())); diff != "" {
				t.Errorf("fields broken (-want +got):\n%s", diff)
			}
		})
	}
}

// An amendment is checked against the registration it changes: what it
// removes must be there, what it adds must not be, and a grantor must
// remain.
func TestAnAmendmentAgainstItsRegistration(t *testing.T) {
	a := Party{Type: "organization", Name: "上海星辰精密机械有限公司", USCC: "91310115MA1K3YJ12G"}
	b := Party{Type: "organization", Name: "苏州工业园区晨光贸易有限公司", USCC: "91320594MA1MXW9R0B"}
	cur := Registration{Grantors: []Party{a}, Collateral: Collateral{Items: []Item{{ID: "item-1", SerialNumber: "DMG-2019 004411"}}}}
	st := Stamp{Number: "20261207000000000017", At: time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)}
	tests := []struct {
		name string
		a    Amendment
		want []string
	}{
		{"a grantor added", Amendment{AddGrantors: []Party{b}}, nil},
		{"the grantor already there", Amendment{AddGrantors: []Party{a}}, []string{"add_grantors[0]:already_grantor"}},
		{"the last grantor removed", Amendment{RemoveGrantors: []Party{a}}, []string{"remove_grantors:last_grantor"}},
		{"a grantor removed that is not one", Amendment{RemoveGrantors: []Party{b}}, []string{"remove_grantors[0]:not_grantor"}},
		{"the last grantor replaced", Amendment{RemoveGrantors: []Party{a}, AddGrantors: []Party{b}}, nil},
		{"an item removed that is not one", Amendment{RemoveItemIDs: []string{"item-9"}}, []string{"remove_item_ids[0]:item_id"}},
		{"a serial registered again, written otherwise", Amendment{AddItems: []ItemInput{{Type: "equipment", SerialNumber: "dmg2019004411"}}},
			[]string{"add_items[0].serial_number:item_registered"}},
		{"a serial registered again after its item is removed", Amendment{RemoveItemIDs: []string{"item-1"}, AddItems: []ItemInput{{Type: "equipment", SerialNumber: "DMG2019004411"}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.a.against(cur, st)
			if diff := cmp.Diff(tt.want, fields(err)); diff != "" {
				t.Errorf("fields broken (-want +got):\n%s", diff)
			}
		})
	}
}
