package web

import (
	"errors"
	"net/url"
	"testing"

	"github.com/movable-registry/registry/internal/registry"
)

// FuzzFilingForm: whatever the filing form posts, reading it never panics,
// the service's check refuses it with a validation error or accepts it,
// and the rows the page shows again are made from it without panic.
func FuzzFilingForm(f *testing.F) {
	for _, s := range []string{
		"kind=chattel_mortgage&grantor_type=organization&grantor_name=%E4%B8%8A%E6%B5%B7&grantor_uscc=91310115MA1K3YJ12G&grantor_address=%E4%B8%8A%E6%B5%B7&grantor_legal_representative=%E7%8E%8B&agreed_with_grantor=yes&principal_amount=100&security_scope=x&secured_type=organization&secured_name=%E9%93%B6%E8%A1%8C&secured_uscc=91310000132209458L&description=x&period_months=12&item_type=equipment&item_serial_number=DMG-1",
		"period_months=1e3", "max_amount=1,000,000.00&max_currency=CNY", "grantor_type=individual&grantor_type=organization&grantor_name=a",
		"item_serial_number=a&item_serial_number=b&item_type=", "%zz", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		values, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		fl, _ := filing(values)
		if err := fl.Validate(); err != nil {
			var v *registry.ValidationError
			if !errors.As(err, &v) || len(v.Errors) == 0 {
				t.Fatalf("%q: %v is not a validation error", query, err)
			}
		}
		_, _, _ = filingRows(fl)
	})
}
