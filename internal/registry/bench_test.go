package registry_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/registry"
)

// benchFiling is a typical filing: an enterprise grantor, a bank, three
// serial-numbered machines.
func benchFiling() registry.Filing {
	return registry.Filing{
		Kind: "chattel_mortgage",
		Grantors: []registry.Party{{Type: "organization", Name: "上海星辰（集团）精密机械有限公司", USCC: "91310115MA1K3YJ12G",
			Address: "上海市浦东新区张江路88号", LegalRepresentative: "王建国"}},
		SecuredParties: []registry.Party{{Type: "organization", Name: "上海浦东发展银行股份有限公司张江科技支行", USCC: "91310000132209458L",
			Address: "上海市浦东新区博云路2号", LegalRepresentative: "李明"}},
		AgreedWithGrantor: true,
		Collateral: registry.CollateralInput{Description: "位于浦东厂区的数控加工中心共3台，含全部备件",
			Items: []registry.ItemInput{{Type: "equipment", SerialNumber: "DMG-2019-004411"}, {Type: "equipment", SerialNumber: "DMG-2019-004412"},
				{Type: "vehicle", SerialNumber: "LSVAB2C40RK000123"}}},
		PeriodMonths:     24,
		MaxSecuredAmount: &registry.Money{Amount: "5000000.00", Currency: "CNY"},
		Reference:        "LN-2026-0042",
	}
}

// BenchmarkValidateFiling checks a filing as File does before sequencing:
// identifiers' check characters, enums, period, amounts.
func BenchmarkValidateFiling(b *testing.B) {
	f := benchFiling()
	for b.Loop() {
		if err := f.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInitial is the work a filing adds to its batch, inside the
// sequencer, before any row is written: the event's canonical record,
// decoding it back, applying it, the index rows and the audit entry.
func BenchmarkInitial(b *testing.B) {
	svc := registry.NewService(nil, time.Now, registry.Config{})
	c := registry.Caller{Principal: auth.Principal{UserID: "0190f1c4-3c44-7d1e-8000-000000000001", OrganizationID: "0190f1c4-3c44-7d1e-8000-000000000002", Roles: []auth.Role{auth.Registrant}}}
	ctrl := registry.Organization{ID: c.OrganizationID, USCC: "91310000132209458L"}
	f := benchFiling()
	at := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	i := int64(0)
	for b.Loop() {
		i++
		st := registry.Stamp{Number: registry.FormatNumber(at, i), At: at, LogIndex: i - 1, LogSize: i}
		if _, err := svc.PrepareFiling(c, ctrl, f, st); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeRegistration is the JSON answer to a filing.
func BenchmarkEncodeRegistration(b *testing.B) {
	svc := registry.NewService(nil, time.Now, registry.Config{})
	c := registry.Caller{Principal: auth.Principal{UserID: "0190f1c4-3c44-7d1e-8000-000000000001", OrganizationID: "0190f1c4-3c44-7d1e-8000-000000000002", Roles: []auth.Role{auth.Registrant}}}
	at := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	w, err := svc.PrepareFiling(c, registry.Organization{ID: c.OrganizationID, USCC: "91310000132209458L"}, benchFiling(),
		registry.Stamp{Number: registry.FormatNumber(at, 1), At: at, LogIndex: 0, LogSize: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(w.State); err != nil {
			b.Fatal(err)
		}
	}
}
