package names

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
