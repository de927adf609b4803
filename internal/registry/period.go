package registry

import (
	"fmt"
	"time"
	_ "time/tzdata" // the register's zone must not depend on the host's tz database

	"github.com/movable-registry/registry/internal/identity"
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
	return body + identity.NumberCheckDigits(body)
}
