package registry

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/movable-registry/registry/internal/identifiers"
)

// Limits on the size of a filing's parts.
const (
	maxParties     = 100
	maxItems       = 1000
	maxName        = 200
	maxText        = 500
	maxDescription = 20000
	maxSerial      = 100
	maxPeriod      = 360
	maxStatement   = 5000
)

var amountPattern = regexp.MustCompile(`^(0|[1-9][0-9]{0,17})(\.[0-9]{1,2})?$`)

func checkText(p *problems, field, value string, required bool, max int) string {
	value = strings.TrimSpace(value)
	switch {
	case !utf8.ValidString(value):
		p.broke(field, RuleNotUTF8, "is not valid UTF-8")
	case required && value == "":
		p.broke(field, RuleRequired, "is required")
	case utf8.RuneCountInString(value) > max:
		p.brokeMax(field, RuleTooLong, fmt.Sprintf("is longer than %d characters", max), max)
	case strings.ContainsFunc(value, func(r rune) bool { return (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r <= 0x9f) }):
		p.broke(field, RuleControl, "contains control characters")
	case strings.ContainsFunc(value, isBidiControl):
		p.broke(field, RuleBidi, "contains bidirectional controls (U+202A to U+202E, U+2066 to U+2069), which make text display as other text")
	case strings.ContainsRune(value, utf8.RuneError):
		p.broke(field, RuleNotUTF8, "is not valid UTF-8 (it holds U+FFFD, the mark of a character that was lost)")
	}
	return value
}

// hiddenRune is a character that no identifier holds honestly: a control,
// a bidirectional control, or the mark of a lost character.
func hiddenRune(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f) || isBidiControl(r) || r == utf8.RuneError
}

// isBidiControl reports whether r changes the direction text is shown in:
// the embeddings and overrides, and the isolates. "Evil\u202Eoc dtL" shows
// as another name than the one stored. The direction marks (U+200E, U+200F)
// stay allowed: right-to-left names use them, and they reorder nothing
// beyond the text they stand in.
func isBidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

func checkEnum(p *problems, field, value string, allowed []string) {
	if value == "" {
		p.broke(field, RuleRequired, "is required; one of "+strings.Join(allowed, ", "))
	} else if !slices.Contains(allowed, value) {
		p.brokeValue(field, RuleNotOneOf, fmt.Sprintf("%q is not one of %s", value, strings.Join(allowed, ", ")), value)
	}
}

// checkID puts an identifier in stored form with check, or records why it is
// wrong under its field and the identifier's own code.
func checkID(p *problems, field, code, what, value string, check func(string) (string, error)) string {
	v, err := check(value)
	if err == nil {
		return v
	}
	msg := err.Error()
	if errors.Is(err, identifiers.ErrCheck) {
		msg = "the " + what + "'s " + msg
	}
	p.add(field, code, msg)
	return value
}
