package identifiers

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// ErrCheck reports that every character is allowed but the check character or
// digits do not match: the most common typing error.
var ErrCheck = errors.New("check character does not match the other characters; re-check each one")

// uscc alphabet of GB 32100-2015: digits and capitals without I, O, S, V, Z.
const usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// CanonicalUSCC returns the Unified Social Credit Code in its stored form
// (trimmed, upper-case) or an error that says what is wrong with it.
func CanonicalUSCC(s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if n := len([]rune(s)); n != 18 {
		return "", fmt.Errorf("a USCC has 18 characters, this one has %d", n)
	}
	sum := 0
	for i := 0; i < 18; i++ {
		v := strings.IndexByte(usccAlphabet, s[i])
		if v < 0 {
			return "", fmt.Errorf("character %q at position %d is not used in a USCC (0-9 and A-Y without I, O, S, V, Z)", s[i], i+1)
		}
		if i < 17 {
			sum += v * usccWeights[i]
		} else {
			want := (31 - sum%31) % 31
			if v != want {
				return "", ErrCheck
			}
		}
	}
	return s, nil
}

var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idChecks = "10X98765432"

// CanonicalIDNumber returns a resident identity card number (GB 11643-1999) in
// its stored form, with an upper-case X, or an error that says what is wrong.
func CanonicalIDNumber(s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if n := len([]rune(s)); n != 18 {
		return "", fmt.Errorf("an identity number has 18 characters, this one has %d", n)
	}
	sum := 0
	for i := 0; i < 17; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return "", fmt.Errorf("character %q at position %d must be a digit", c, i+1)
		}
		sum += int(c-'0') * idWeights[i]
	}
	last := s[17]
	if (last < '0' || last > '9') && last != 'X' {
		return "", fmt.Errorf("the last character must be a digit or X, not %q", last)
	}
	if _, err := time.Parse("20060102", s[6:14]); err != nil || s[6:8] < "18" {
		return "", fmt.Errorf("positions 7-14 (%s) are not a valid date of birth", s[6:14])
	}
	if idChecks[sum%11] != last {
		return "", ErrCheck
	}
	return s, nil
}

// CanonicalLEI returns an ISO 17442 Legal Entity Identifier in its stored form
// or an error that says what is wrong with it.
func CanonicalLEI(s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if n := len([]rune(s)); n != 20 {
		return "", fmt.Errorf("an LEI has 20 characters, this one has %d", n)
	}
	for i := 0; i < 20; i++ {
		c := s[i]
		isDigit := c >= '0' && c <= '9'
		if i >= 18 && !isDigit {
			return "", fmt.Errorf("the last two characters of an LEI are digits; position %d is %q", i+1, c)
		}
		if !isDigit && (c < 'A' || c > 'Z') {
			return "", fmt.Errorf("character %q at position %d is not a digit or a letter A-Z", c, i+1)
		}
	}
	if mod97(s) != 1 {
		return "", ErrCheck
	}
	return s, nil
}

// mod97 computes the ISO 7064 MOD 97-10 remainder of s, reading letters as 10-35.
func mod97(s string) int {
	r := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			v := int(c-'A') + 10
			r = (r*100 + v) % 97
		} else {
			r = (r*10 + int(c-'0')) % 97
		}
	}
	return r
}

// NumberCheckDigits returns the two ISO 7064 MOD 97-10 check digits for the
// 18 leading digits of a registration or certificate number.
func NumberCheckDigits(body string) string {
	c := 98 - (mod97(body)*100)%97
	return fmt.Sprintf("%02d", c)
}

// CanonicalNumber returns a registry number as a person may type it (in
// groups split by spaces or dashes, in full-width digits, as a phone or a
// Chinese input method gives them) in its stored form of 20 ASCII digits,
// or an error that says what is wrong with it.
func CanonicalNumber(s string) (string, error) {
	if len(s) > 100 {
		return "", fmt.Errorf("a registry number has 20 digits, this text has %d characters", len([]rune(s)))
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '０' && r <= '９':
			b.WriteRune('0' + r - '０')
		case unicode.IsSpace(r), r == '-', r == '－', r == '‐', r == '‑', r == '–', r == '—':
		default:
			b.WriteRune(r)
		}
	}
	n := b.String()
	return n, CheckNumber(n)
}

// CheckNumber reports whether s is a well-formed 20-digit registry number
// whose check digits are right.
func CheckNumber(s string) error {
	if len(s) != 20 {
		return fmt.Errorf("a registry number has 20 digits, this one has %d characters", len([]rune(s)))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return fmt.Errorf("character %q at position %d must be a digit", s[i], i+1)
		}
	}
	if mod97(s) != 1 {
		return errors.New("the check digits do not match; re-check each digit")
	}
	return nil
}

// SerialKey is the search key of a collateral serial number: NFKC, upper case,
// without spaces, hyphens or other punctuation, so "DMG-2019 004411" and
// "dmg2019004411" are the same serial.
func SerialKey(s string) string {
	s = strings.ToUpper(norm.NFKC.String(s))
	var b strings.Builder
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}
