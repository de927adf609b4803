package bulkcsv

import (
	"errors"
	"strings"
	"testing"

	"github.com/movable-registry/registry/internal/registry"
)

const header = "kind,grantor_name,grantor_uscc,grantor_address,grantor_legal_representative,secured_name,secured_uscc,secured_address," +
	"secured_legal_representative,agreed_with_grantor,description,period_months,principal_amount,security_scope,transfer_restriction," +
	"secured_financial_institution_code"

// TestReadsWhatTheMeasuresAskFor: each row's parties carry their address
// and legal representative, the declaration reads from its column, and the
// optional content the parties agreed to register is read when given.
func TestReadsWhatTheMeasuresAskFor(t *testing.T) {
	rows := header + "\n" +
		"chattel_mortgage,上海星辰精密机械有限公司,91310115MA1K3YJ12G,上海市浦东新区张江路88号,王建国,某银行,91310000132209458L,上海市浦东新区博云路2号,李明,是,数控加工中心,36,3000000,本金及利息,不得转让,B0015S231000001\n" +
		"chattel_mortgage,上海星辰精密机械有限公司,91310115MA1K3YJ12G,上海市浦东新区张江路88号,王建国,某银行,91310000132209458L,上海市浦东新区博云路2号,李明,no,叉车,12,,,,\n"
	fs, err := Read([]byte(rows))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 {
		t.Fatalf("%d filings", len(fs))
	}
	f := fs[0]
	if err := f.Validate(); err != nil {
		t.Fatalf("the first row: %v", err)
	}
	g, s := f.Grantors[0], f.SecuredParties[0]
	if g.Address != "上海市浦东新区张江路88号" || g.LegalRepresentative != "王建国" || s.Address != "上海市浦东新区博云路2号" ||
		s.LegalRepresentative != "李明" || s.FinancialInstitutionCode != "B0015S231000001" {
		t.Errorf("parties %+v, %+v", g, s)
	}
	if !f.AgreedWithGrantor || f.PrincipalAmount == nil || f.PrincipalAmount.Amount != "3000000.00" || f.PrincipalAmount.Currency != "CNY" ||
		f.SecurityScope != "本金及利息" || f.TransferRestriction != "不得转让" {
		t.Errorf("filing %+v", f)
	}
	// "no" declares nothing: the registry refuses the row by its rule.
	second := fs[1]
	var v *registry.ValidationError
	if err := second.Validate(); !errors.As(err, &v) || len(v.Errors) != 1 || v.Errors[0].Rule != registry.RuleAgreedWithGrantor {
		t.Errorf("the second row: %v", err)
	}
	if second.PrincipalAmount != nil {
		t.Errorf("an empty principal amount read as %+v", second.PrincipalAmount)
	}
}

// TestTheRequiredColumns: a file without the address, the legal
// representative or the declaration is refused whole, naming the column.
func TestTheRequiredColumns(t *testing.T) {
	for _, missing := range []string{"grantor_address", "secured_address", "grantor_legal_representative", "agreed_with_grantor"} {
		var cols []string
		for _, c := range strings.Split(header, ",") {
			if c != missing {
				cols = append(cols, c)
			}
		}
		_, err := Read([]byte(strings.Join(cols, ",") + "\n" + strings.Repeat("x,", len(cols)-1) + "x\n"))
		if err == nil || !strings.Contains(err.Error(), `"`+missing+`"`) {
			t.Errorf("without %s: %v", missing, err)
		}
	}
}
