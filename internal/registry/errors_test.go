package registry_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/movable-registry/registry/internal/registry"
)

// TestFieldErrorsCarryTheirRulesArgument: each constructor of a field
// error names its rule's argument as the API documents it, and a client
// reads back what was sent.
func TestFieldErrorsCarryTheirRulesArgument(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fe   registry.FieldError
		want string
	}{
		{"a rule without an argument has none", registry.Broken("name", registry.RuleRequired, "is required"),
			`{"field":"name","code":"invalid_field","message":"is required","rule":"required"}`},
		{"a maximum is max", registry.BrokenMax("name", registry.RuleTooLong, "is longer than 200 characters", 200),
			`{"field":"name","code":"invalid_field","message":"is longer than 200 characters","rule":"too_long","max":200}`},
		{"a minimum is min", registry.BrokenMin("password", registry.RulePasswordShort, "must have at least 12 characters", 12),
			`{"field":"password","code":"invalid_field","message":"must have at least 12 characters","rule":"password_short","min":12}`},
		{"a value refused is value", registry.BrokenValue("currency", registry.RuleCurrency, `"XXY" is not an ISO 4217 currency code`, "XXY"),
			`{"field":"currency","code":"invalid_field","message":"\"XXY\" is not an ISO 4217 currency code","rule":"currency","value":"XXY"}`},
		{"the values allowed are allowed", registry.BrokenAllowed("language", registry.RuleNotOneOf, "must be zh or en", []string{"zh", "en"}),
			`{"field":"language","code":"invalid_field","message":"must be zh or en","rule":"not_one_of","allowed":["zh","en"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.fe)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(got), tt.want); diff != "" {
				t.Errorf("JSON (-got +want):\n%s", diff)
			}
			var back registry.FieldError
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatal(err)
			}
			again, _ := json.Marshal(back)
			if diff := cmp.Diff(string(again), tt.want); diff != "" {
				t.Errorf("read back and written again (-got +want):\n%s", diff)
			}
		})
	}
}

// TestBrokeIsOneFieldsValidationError: Broke and its typed kin return a
// ValidationError of the one field error their Broken kin make.
func TestBrokeIsOneFieldsValidationError(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		want registry.FieldError
	}{
		{registry.Broke("value", registry.RuleRequired, "is required"), registry.Broken("value", registry.RuleRequired, "is required")},
		{registry.BrokeMax("filings", registry.RuleAtMost, "must hold 1 to 1,000 filings", 1000), registry.BrokenMax("filings", registry.RuleAtMost, "must hold 1 to 1,000 filings", 1000)},
		{registry.BrokeValue("country", registry.RuleCountry, "bad", "XX"), registry.BrokenValue("country", registry.RuleCountry, "bad", "XX")},
	} {
		v, ok := tt.err.(*registry.ValidationError)
		if !ok {
			t.Fatalf("%T, want *registry.ValidationError", tt.err)
		}
		if diff := cmp.Diff(v.Errors, []registry.FieldError{tt.want}); diff != "" {
			t.Errorf("(-got +want):\n%s", diff)
		}
	}
}
