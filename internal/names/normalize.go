package names

import (
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// NameKey is the search key of an organization's legal name together with what
// the normalization noticed about it.
type NameKey struct {
	Key string
	// MixedScripts is set when the name mixes alphabets whose letters look
	// alike (Latin with Cyrillic or Greek): such a name is not silently equated
	// with its look-alike, and the searcher is warned.
	MixedScripts bool
}

// legalFormWords are the ending words that only name an organization's legal
// form in a Latin-script name (IACA Model Administrative Rules, rule 503,
// "ending noise words"), lower-case and without punctuation.
var legalFormWords = map[string]bool{
	"inc": true, "incorporated": true, "corp": true, "corporation": true,
	"co": true, "company": true, "cos": true, "companies": true,
	"ltd": true, "limited": true, "llc": true, "llp": true, "lllp": true,
	"lp": true, "lc": true, "pc": true, "pllc": true, "plc": true,
	"partnership": true, "association": true, "assn": true, "assoc": true,
	"gmbh": true, "ag": true, "sa": true, "sarl": true, "bv": true, "nv": true,
	"pte": true, "pty": true, "kk": true, "bhd": true, "sdn": true,
}

var folder = cases.Fold()

// Normalize returns the search key of an organization name: the form in which
// every typing variant of one legal name is equal (docs/rules.md, Searching).
//
// Chinese legal-form words are part of the name and stay; Latin-script names
// additionally follow rule 503 of the IACA Model Administrative Rules.
func Normalize(name string) NameKey {
	// Invisible characters first: NFKC keeps most of them.
	name = strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Cf, r) || r == '\u00ad' {
			return -1
		}
		return r
	}, name)
	name = folder.String(norm.NFKC.String(name))

	var han, latin bool
	alphabets := map[string]bool{}
	for _, r := range name {
		switch {
		case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul, unicode.Bopomofo):
			han = true
		case unicode.Is(unicode.Latin, r):
			latin = true
			alphabets["latin"] = true
		case unicode.Is(unicode.Cyrillic, r):
			alphabets["cyrillic"] = true
		case unicode.Is(unicode.Greek, r):
			alphabets["greek"] = true
		}
	}
	k := NameKey{MixedScripts: len(alphabets) > 1}

	if latin && !han {
		// Accents are disregarded: decompose and drop the marks.
		name = strings.Map(func(r rune) rune {
			if unicode.Is(unicode.Mn, r) {
				return -1
			}
			return r
		}, norm.NFD.String(name))
		name = strings.ReplaceAll(name, "&", " and ")
		// Dots and apostrophes join abbreviations ("S.A.", "Macy's"); other
		// punctuation separates words.
		name = strings.NewReplacer(".", "", "'", "", "’", "").Replace(name)
		words := strings.FieldsFunc(name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		if len(words) > 1 && words[0] == "the" {
			words = words[1:]
		}
		for len(words) > 1 && legalFormWords[words[len(words)-1]] {
			words = words[:len(words)-1]
		}
		k.Key = norm.NFC.String(strings.Join(words, ""))
		return k
	}
	var b strings.Builder
	for _, r := range name {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	k.Key = b.String()
	return k
}
