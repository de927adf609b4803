package registry

import (
	"fmt"
	"time"

	"github.com/movable-registry/registry/internal/identifiers"
)

// Shanghai is China Standard Time, in which periods and number dates are counted.
var Shanghai = mustZone("Asia/Shanghai")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// AddMonths adds calendar months in Asia/Shanghai, keeping the time of day and
// clamping at the end of a shorter month (31 January + 1 month is the last day
// of February, never early March).
func AddMonths(t time.Time, months int) time.Time {
	l := t.In(Shanghai)
	y, m, d := l.Date()
	first := time.Date(y, m+time.Month(months), 1, l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), Shanghai)
	if last := daysIn(first.Year(), first.Month()); d > last {
		d = last
	}
	return first.AddDate(0, 0, d-1).UTC()
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// FormatNumber makes a registry number: the registration date in
// Asia/Shanghai, a 10-digit sequence, and ISO 7064 MOD 97-10 check digits.
func FormatNumber(at time.Time, seq int64) string {
	body := at.In(Shanghai).Format("20060102") + fmt.Sprintf("%010d", seq)
	return body + identifiers.NumberCheckDigits(body)
}

// Time is an instant as the register shows and records it: RFC 3339 in UTC
// with exactly six fractional digits, so that every time has the same form
// (Go's own encoding drops trailing zeros, and a whole second's fraction).
type Time struct{ time.Time }

// At makes a Time of t, in UTC and to the microsecond.
func At(t time.Time) Time { return Time{t.UTC().Truncate(time.Microsecond)} }

// TimeLayout is the one form of a Time in JSON.
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// MarshalJSON writes the fixed form. Every answer holds several times a
// registration, so it is written digit by digit (time.Format reads its
// layout each time, at a fifth of a search's JSON).
func (t Time) MarshalJSON() ([]byte, error) {
	u := t.UTC()
	year, month, day := u.Date()
	if year < 0 || year > 9999 {
		return []byte(`"` + u.Format(TimeLayout) + `"`), nil
	}
	hour, minute, second := u.Clock()
	b := make([]byte, 0, len(TimeLayout)+2)
	digits := func(v, n int) {
		start := len(b)
		b = append(b, "000000"[:n]...)
		for i := start + n - 1; i >= start; i-- {
			b[i] = byte('0' + v%10)
			v /= 10
		}
	}
	b = append(b, '"')
	digits(year, 4)
	b = append(b, '-')
	digits(int(month), 2)
	b = append(b, '-')
	digits(day, 2)
	b = append(b, 'T')
	digits(hour, 2)
	b = append(b, ':')
	digits(minute, 2)
	b = append(b, ':')
	digits(second, 2)
	b = append(b, '.')
	digits(u.Nanosecond()/1000, 6)
	return append(b, 'Z', '"'), nil
}

// UnmarshalJSON reads any RFC 3339 time.
func (t *Time) UnmarshalJSON(b []byte) error {
	if err := t.Time.UnmarshalJSON(b); err != nil {
		return err
	}
	t.Time = t.UTC()
	return nil
}
