package identifiers

import (
	"testing"
)

// FuzzIdentifiers checks that the identifier checks never panic and that what
// they accept they accept again unchanged.
func FuzzIdentifiers(f *testing.F) {
	for _, s := range []string{"91310115MA1K3YJ12G", "44030419851231002x", "5493001KJTIIGC8Y1R12", "20261126000000001225", "", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, check := range map[string]func(string) (string, error){"USCC": CanonicalUSCC, "ID": CanonicalIDNumber, "LEI": CanonicalLEI} {
			if v, err := check(s); err == nil {
				if again, err := check(v); err != nil || again != v {
					t.Errorf("%s: %q accepted as %q, then %q, %v", name, s, v, again, err)
				}
			}
		}
		_ = CheckNumber(s)
	})
}
