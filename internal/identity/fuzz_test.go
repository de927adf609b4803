package identity

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzNormalize checks properties every search key must have, whatever the name.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"上海星辰（集团）精密机械有限公司", "The Smith & Jones Co., Ltd.", "Société Générale S.A.", "ＡＣＭＥ　Ｌｔｄ．", "P\u0430cific", "", "ß", "ﬁ"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, name string, at int) {
		if !utf8.ValidString(name) {
			return
		}
		k := Normalize(name)
		if strings.IndexFunc(k.Key, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.Is(unicode.Cf, r) }) >= 0 {
			t.Errorf("Normalize(%q).Key = %q has spaces, punctuation or invisible characters", name, k.Key)
		}
		if again := Normalize(k.Key).Key; again != k.Key {
			t.Errorf("not idempotent: Normalize(%q) = %q, then %q", name, k.Key, again)
		}
		// A zero-width space typed anywhere changes nothing.
		runes := []rune(name)
		if at < 0 {
			at = -at
		}
		i := at % (len(runes) + 1)
		with := string(runes[:i]) + "\u200b" + string(runes[i:])
		if got := Normalize(with).Key; got != k.Key {
			t.Errorf("Normalize(%q) = %q but with a zero-width space %q", name, k.Key, got)
		}
	})
}

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
