package registry

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// measuresFiling is a filing with everything the 2021 Measures ask of a new
// one: each party's address, a mainland organization's legal
// representative, and the declaration that the grantor agreed.
func measuresFiling() Filing {
	return Filing{
		Kind: "chattel_mortgage",
		Grantors: []Party{{Type: "organization", Name: "上海星辰精密机械有限公司", USCC: "91310115MA1K3YJ12G",
			Address: "上海市浦东新区张江路88号", LegalRepresentative: "王建国"}},
		SecuredParties: []Party{{Type: "organization", Name: "上海浦东发展银行股份有限公司张江科技支行", USCC: "91310000132209458L",
			Address: "上海市浦东新区博云路2号", LegalRepresentative: "李明", FinancialInstitutionCode: "B0015S231000001"}},
		Collateral:        CollateralInput{Description: "浦东厂区数控加工中心12台"},
		PeriodMonths:      36,
		AgreedWithGrantor: true,
	}
}

// fieldRules lists a validation error's fields with their rules.
func fieldRules(t *testing.T, err error) []string {
	t.Helper()
	var v *ValidationError
	if !errors.As(err, &v) {
		t.Fatalf("%v is not a validation error", err)
	}
	var out []string
	for _, f := range v.Errors {
		out = append(out, f.Field+" "+string(f.Rule))
	}
	return out
}

func TestFilingCarriesWhatTheMeasuresAskFor(t *testing.T) {
	f := measuresFiling()
	if err := f.Validate(); err != nil {
		t.Fatalf("a complete filing: %v", err)
	}
	cases := []struct {
		name   string
		change func(*Filing)
		want   []string
	}{
		{"no address", func(f *Filing) { f.Grantors[0].Address = "  " }, []string{"grantors[0].address required"}},
		{"no secured party's address", func(f *Filing) { f.SecuredParties[0].Address = "" }, []string{"secured_parties[0].address required"}},
		{"no legal representative", func(f *Filing) { f.Grantors[0].LegalRepresentative = "" }, []string{"grantors[0].legal_representative required"}},
		{"not declared", func(f *Filing) { f.AgreedWithGrantor = false }, []string{"agreed_with_grantor agreed_with_grantor"}},
		{"a foreign organization needs no representative", func(f *Filing) {
			f.Grantors[0] = Party{Type: "organization", Name: "Star Holdings Ltd", Country: "HK", RegistrationNumber: "1234567", Address: "1 Queen's Road, Hong Kong"}
		}, nil},
		{"an individual needs an address", func(f *Filing) {
			f.Grantors[0] = Party{Type: "individual", Name: "张三", IDNumber: "11010119900307803X"}
		}, []string{"grantors[0].address required"}},
		{"an individual has no representative", func(f *Filing) {
			f.Grantors[0] = Party{Type: "individual", Name: "张三", IDNumber: "11010119900307803X", Address: "北京市东城区", LegalRepresentative: "x"}
		}, []string{"grantors[0].legal_representative "}},
		{"a bad principal amount", func(f *Filing) { f.PrincipalAmount = &Money{Amount: "-1", Currency: "CNY"} }, []string{"principal_amount.amount amount"}},
		{"a long scope", func(f *Filing) { f.SecurityScope = strings.Repeat("本", maxText+1) }, []string{"security_scope too_long"}},
		{"a long restriction", func(f *Filing) { f.TransferRestriction = strings.Repeat("转", maxText+1) }, []string{"transfer_restriction too_long"}},
		{"a long representative", func(f *Filing) { f.Grantors[0].LegalRepresentative = strings.Repeat("王", maxName+1) }, []string{"grantors[0].legal_representative too_long"}},
	}
	for _, c := range cases {
		f := measuresFiling()
		c.change(&f)
		err := f.Validate()
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if got := fieldRules(t, err); !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	f = measuresFiling()
	f.PrincipalAmount = &Money{Amount: "3000000", Currency: "CNY"}
	f.SecurityScope, f.TransferRestriction = "  主债权及利息、违约金 ", "未经抵押权人同意不得转让"
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	if f.PrincipalAmount.Amount != "3000000.00" || f.SecurityScope != "主债权及利息、违约金" {
		t.Errorf("stored as %+v, %q", f.PrincipalAmount, f.SecurityScope)
	}
	// What the filing declares is what the initial event records, and what
	// the registration answers.
	start := time.Date(2027, 3, 1, 2, 0, 0, 0, time.UTC)
	regs, err := replay(life(t, start, ev{EventInitial, initial(Organization{ID: "o", USCC: "91310000132209458L"}, f,
		Stamp{Number: FormatNumber(start, 1), At: start})}))
	if err != nil {
		t.Fatal(err)
	}
	r := regs[0]
	if !r.AgreedWithGrantor || r.PrincipalAmount == nil || r.PrincipalAmount.Amount != "3000000.00" || r.SecurityScope != f.SecurityScope ||
		r.TransferRestriction != f.TransferRestriction || r.Grantors[0].LegalRepresentative != "王建国" ||
		r.SecuredParties[0].FinancialInstitutionCode != "B0015S231000001" || r.Grantors[0].Address != "上海市浦东新区张江路88号" {
		t.Errorf("replayed = %+v", r)
	}
}

func TestAmendmentsAddPartiesWithAddresses(t *testing.T) {
	newGrantor := Party{Type: "organization", Name: "上海北辰贸易有限公司", USCC: "91310115MA1K3YJ12G"}
	a := Amendment{AddGrantors: []Party{newGrantor}, SecuredParties: []Party{{Type: "organization", Name: "银行", USCC: "91310000132209458L"}},
		RemoveGrantors: []Party{{Type: "organization", Name: "上海星辰精密机械有限公司", USCC: "91310000132209458L"}}}
	want := []string{"add_grantors[0].address required", "secured_parties[0].address required"}
	if got := fieldRules(t, a.Validate()); !slices.Equal(got, want) {
		t.Errorf("%q, want %q (a grantor removed is found without an address)", got, want)
	}
	a.AddGrantors[0].Address, a.SecuredParties[0].Address = "上海市", "上海市"
	if err := a.Validate(); err != nil {
		t.Errorf("with addresses: %v", err)
	}
}

// A registration filed before the Measures' content was asked for (no
// address, no representative, no declaration) still replays, and a rename
// of its grantor keeps what the grantor had unless new details are given.
func TestRegistrationsFiledBeforeStayValid(t *testing.T) {
	start := time.Date(2026, 1, 5, 2, 0, 0, 0, time.UTC)
	old := Party{Type: "organization", Name: "上海星辰精密机械有限公司", USCC: "91310115MA1K3YJ12G", Address: "上海市浦东新区"}
	records := life(t, start, ev{EventInitial, initialData{Kind: "factoring", Grantors: []Party{old},
		SecuredParties: []Party{{Type: "organization", Name: "银行", USCC: "91310000132209458L"}},
		PeriodMonths:   12, ExpiresAt: At(AddMonths(start, 12)), Collateral: Collateral{Description: "应收账款"}}})
	if strings.Contains(string(records[0].Record), "agreed_with_grantor") || strings.Contains(string(records[0].Record), "legal_representative") {
		t.Fatalf("an old record names the new fields: %s", records[0].Record)
	}
	regs, err := replay(records)
	if err != nil {
		t.Fatal(err)
	}
	cur := finish(regs[0], start)
	if cur.AgreedWithGrantor || cur.SecuredParties[0].Address != "" {
		t.Errorf("replayed = %+v", cur)
	}
	renamed := Party{Type: "organization", Name: "上海星辰智能装备有限公司", USCC: "91310115MA1K3YJ12G"}
	a := Amendment{RenameGrantors: []Rename{{From: old, To: renamed}}}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	data, err := a.against(cur, Stamp{Number: FormatNumber(start.Add(time.Minute), 2), At: start.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if to := data.RenameGrantors[0].To; to.Address != old.Address || to.Name != renamed.Name {
		t.Errorf("the rename records %+v", to)
	}
}
