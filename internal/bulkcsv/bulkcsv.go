// Package bulkcsv reads filings from a CSV file, one a row, for bulk filing
// (registryctl file and the bulk filing page), and amendments for the bulk
// changes page (changes.go). A filings file's header names the columns, in
// any order: kind, grantor_name, grantor_uscc, secured_name and
// secured_uscc are required; description, period_months, serial_numbers
// (';'-separated equipment), max_amount, currency and reference are not.
package bulkcsv

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/movable-registry/registry/internal/registry"
)

// Columns are the columns a file may have; the first five are required.
var Columns = []string{"kind", "grantor_name", "grantor_uscc", "secured_name", "secured_uscc",
	"description", "period_months", "serial_numbers", "max_amount", "currency", "reference"}

// Read reads the filings of a CSV file, unchecked (the registry checks each
// as it files it).
func Read(raw []byte) ([]registry.Filing, error) {
	r := csv.NewReader(bytes.NewReader(raw))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("the CSV: %w", err)
	}
	if len(rows) < 2 {
		return nil, errors.New("the CSV has no rows under its header")
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if !slices.Contains(Columns, h) {
			return nil, fmt.Errorf("the CSV's column %q is not one of %s", h, strings.Join(Columns, ", "))
		}
		col[h] = i
	}
	for _, need := range Columns[:5] {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("the CSV has no %q column", need)
		}
	}
	var out []registry.Filing
	for n, row := range rows[1:] {
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(row) {
				return strings.TrimSpace(row[i])
			}
			return ""
		}
		f := registry.Filing{
			Kind:           get("kind"),
			Grantors:       []registry.Party{{Type: "organization", Name: get("grantor_name"), USCC: get("grantor_uscc")}},
			SecuredParties: []registry.Party{{Type: "organization", Name: get("secured_name"), USCC: get("secured_uscc")}},
			Collateral:     registry.CollateralInput{Description: get("description"), Items: []registry.ItemInput{}},
			Reference:      get("reference"),
		}
		for s := range strings.SplitSeq(get("serial_numbers"), ";") {
			if s = strings.TrimSpace(s); s != "" {
				f.Collateral.Items = append(f.Collateral.Items, registry.ItemInput{Type: "equipment", SerialNumber: s})
			}
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
		out = append(out, f)
	}
	return out, nil
}
