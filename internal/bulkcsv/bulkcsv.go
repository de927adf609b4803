// Package bulkcsv reads filings from a CSV file, one a row, for bulk filing
// (registryctl file and the bulk filing page), and amendments for the bulk
// changes page (changes.go). A filings file's header names the
// columns, in any order. Required are kind, each party's name, USCC,
// address and legal representative (grantor_… and secured_…), and
// agreed_with_grantor (true, yes, 1 or 是 in each row: the filer declares
// that the grantor agreed to the content, as the 2021 Measures ask);
// description, period_months, serial_numbers (';'-separated equipment),
// max_amount, currency, reference, secured_financial_institution_code,
// principal_amount, principal_currency, security_scope and
// transfer_restriction are not.
package bulkcsv

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/movable-registry/registry/internal/registry"
)

// Columns are the columns a file may have; the first Required are required.
var Columns = []string{"kind", "grantor_name", "grantor_uscc", "grantor_address", "grantor_legal_representative",
	"secured_name", "secured_uscc", "secured_address", "secured_legal_representative", "agreed_with_grantor",
	"description", "period_months", "serial_numbers", "max_amount", "currency", "reference",
	"secured_financial_institution_code", "principal_amount", "principal_currency", "security_scope", "transfer_restriction"}

// Required is how many of Columns, from the first, a file must have.
const Required = 10

// agreed are the values of agreed_with_grantor that declare the grantor's
// agreement; any other is no declaration, and the registry refuses the row.
var agreed = []string{"true", "yes", "y", "1", "是"}

// Read reads the filings of a CSV file, unchecked (the registry checks each
// as it files it).
func Read(raw []byte) ([]registry.Filing, error) {
	t, err := readTable(raw, Columns, Columns[:Required])
	if err != nil {
		return nil, err
	}
	var out []registry.Filing
	for n, row := range t.rows {
		get := func(name string) string { return t.get(row, name) }
		f := registry.Filing{
			Kind: get("kind"),
			Grantors: []registry.Party{{Type: "organization", Name: get("grantor_name"), USCC: get("grantor_uscc"),
				Address: get("grantor_address"), LegalRepresentative: get("grantor_legal_representative")}},
			SecuredParties: []registry.Party{{Type: "organization", Name: get("secured_name"), USCC: get("secured_uscc"),
				Address: get("secured_address"), LegalRepresentative: get("secured_legal_representative"),
				FinancialInstitutionCode: get("secured_financial_institution_code")}},
			Collateral:          registry.CollateralInput{Description: get("description"), Items: []registry.ItemInput{}},
			Reference:           get("reference"),
			AgreedWithGrantor:   slices.Contains(agreed, strings.ToLower(get("agreed_with_grantor"))),
			SecurityScope:       get("security_scope"),
			TransferRestriction: get("transfer_restriction"),
		}
		for _, s := range t.list(row, "serial_numbers") {
			f.Collateral.Items = append(f.Collateral.Items, registry.ItemInput{Type: "equipment", SerialNumber: s})
		}
		if p := get("period_months"); p != "" {
			if f.PeriodMonths, err = strconv.Atoi(p); err != nil {
				return nil, fmt.Errorf("row %d: period_months %q is not a number", n+1, p)
			}
		}
		if a := get("max_amount"); a != "" {
			currency := get("currency")
			if currency == "" {
				currency = "CNY"
			}
			f.MaxSecuredAmount = &registry.Money{Amount: a, Currency: currency}
		}
		if a := get("principal_amount"); a != "" {
			currency := get("principal_currency")
			if currency == "" {
				currency = "CNY"
			}
			f.PrincipalAmount = &registry.Money{Amount: a, Currency: currency}
		}
		out = append(out, f)
	}
	return out, nil
}
