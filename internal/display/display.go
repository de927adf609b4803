// Package display writes the register's values for people, in Chinese and
// English alike: amounts with thousands separators and, for renminbi, in
// the capital numerals (大写) that Chinese financial documents carry beside
// the figures, and instants in Beijing time. The pages and the PDF
// certificates both use it, so a certificate and its page say the same.
package display

import (
	"strings"

	"github.com/movable-registry/registry/internal/registry"
)

// Time writes an instant in Beijing time (China Standard Time, UTC+8), named
// as a reader of each language expects: 北京时间 in Chinese, UTC+8 in English.
func Time(t registry.Time, lang string) string {
	if t.IsZero() {
		return ""
	}
	s := t.In(registry.Shanghai).Format("2006-01-02 15:04:05")
	if lang == "en" {
		return s + " (UTC+8)"
	}
	return s + "（北京时间）"
}

// Grouped writes a decimal amount ("3000000.00") with a comma between each
// three digits of its whole part ("3,000,000.00"); text that is not a plain
// decimal is returned as it is.
func Grouped(amount string) string {
	whole, frac, dot := strings.Cut(amount, ".")
	sign := ""
	if strings.HasPrefix(whole, "-") {
		sign, whole = "-", whole[1:]
	}
	if whole == "" || !digits(whole) || (dot && !digits(frac)) {
		return amount
	}
	var b strings.Builder
	b.WriteString(sign)
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if dot {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// Money writes an amount with its currency: "3,000,000.00 CNY", and for
// renminbi also in capital numerals, "3,000,000.00 元（人民币叁佰万元整）" in
// Chinese and "CNY 3,000,000.00 (人民币叁佰万元整)" in English.
func Money(m registry.Money, lang string) string {
	g := Grouped(m.Amount)
	capital, ok := "", false
	if m.Currency == "CNY" {
		capital, ok = Capital(m.Amount)
	}
	switch {
	case lang == "en" && ok:
		return "CNY " + g + " (" + capital + ")"
	case lang == "en":
		return m.Currency + " " + g
	case ok:
		return g + " 元（" + capital + "）"
	}
	return g + " " + m.Currency
}

var (
	numerals = []rune("零壹贰叁肆伍陆柒捌玖")
	// places are the units within a group of four digits, lowest first.
	places = []string{"", "拾", "佰", "仟"}
	// groups name each group of four digits, lowest first: up to 9,999
	// trillion (万亿), more than any amount a registration secures.
	groups = []string{"", "万", "亿", "万亿"}
)

// Capital writes a renminbi amount in capital numerals as cheques and
// contracts do (人民币壹拾万零伍佰元整, 人民币叁佰元零伍分): a zero between
// digits is written once as 零, a whole amount ends in 整, and a zero 角
// before a 分 is written 零. It reports false for text that is not a
// non-negative decimal with at most two decimals, or is too large to name.
func Capital(amount string) (string, bool) {
	whole, frac, _ := strings.Cut(amount, ".")
	whole = strings.TrimLeft(whole, "0")
	if !digits(whole) && whole != "" || !digits(frac) && frac != "" || len(frac) > 2 || len(whole) > 4*len(groups) {
		return "", false
	}
	frac += strings.Repeat("0", 2-len(frac))
	jiao, fen := int(frac[0]-'0'), int(frac[1]-'0')

	var b strings.Builder
	b.WriteString("人民币")
	if whole != "" {
		b.WriteString(wholeCapital(whole))
		b.WriteString("元")
	}
	switch {
	case jiao == 0 && fen == 0:
		if whole == "" {
			b.WriteString("零元")
		}
		b.WriteString("整")
	case jiao == 0:
		if whole != "" {
			b.WriteRune('零')
		}
		b.WriteRune(numerals[fen])
		b.WriteString("分")
	default:
		b.WriteRune(numerals[jiao])
		b.WriteString("角")
		if fen != 0 {
			b.WriteRune(numerals[fen])
			b.WriteString("分")
		} else {
			b.WriteString("整")
		}
	}
	return b.String(), true
}

// wholeCapital names a whole number without leading zeros, group by group of
// four digits from the highest.
func wholeCapital(whole string) string {
	var b strings.Builder
	n := (len(whole) + 3) / 4
	pending := false // a zero was passed since the last digit written
	for g := n - 1; g >= 0; g-- {
		end := len(whole) - 4*g
		start := max(end-4, 0)
		part := whole[start:end]
		wrote := false
		for i, r := range part {
			place := len(part) - 1 - i
			if r == '0' {
				pending = pending || b.Len() > 0
				continue
			}
			if pending {
				b.WriteRune('零')
				pending = false
			}
			b.WriteRune(numerals[r-'0'])
			b.WriteString(places[place])
			wrote = true
		}
		if wrote {
			b.WriteString(groups[g])
		}
	}
	return b.String()
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
