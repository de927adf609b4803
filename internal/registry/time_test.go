package registry

import (
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/identifiers"
)

func cst(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, Shanghai)
}

func TestAddMonths(t *testing.T) {
	tests := []struct {
		name   string
		from   time.Time
		months int
		want   time.Time
	}{
		{"31 January + 1 month in a leap year is 29 February", cst(2028, 1, 31, 10, 0), 1, cst(2028, 2, 29, 10, 0)},
		{"31 January + 1 month in a common year is 28 February", cst(2027, 1, 31, 10, 0), 1, cst(2027, 2, 28, 10, 0)},
		{"29 February + 12 months is 28 February", cst(2028, 2, 29, 9, 30), 12, cst(2029, 2, 28, 9, 30)},
		{"29 February + 48 months is 29 February again", cst(2028, 2, 29, 9, 30), 48, cst(2032, 2, 29, 9, 30)},
		{"31 March + 1 month is 30 April", cst(2026, 3, 31, 0, 0), 1, cst(2026, 4, 30, 0, 0)},
		{"30 April + 1 month stays on the 30th", cst(2026, 4, 30, 0, 0), 1, cst(2026, 5, 30, 0, 0)},
		{"crosses the year", cst(2026, 11, 26, 11, 14), 36, cst(2029, 11, 26, 11, 14)},
		{"360 months is 30 years", cst(2026, 8, 31, 23, 59), 360, cst(2056, 8, 31, 23, 59)},
		// 20:00 UTC on 31 January is already 1 February in Shanghai.
		{"the calendar is Shanghai's, not UTC's", time.Date(2027, 1, 31, 20, 0, 0, 0, time.UTC), 1, cst(2027, 3, 1, 4, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AddMonths(tt.from, tt.months); !got.Equal(tt.want) {
				t.Errorf("AddMonths(%v, %d) = %v, want %v", tt.from, tt.months, got.In(Shanghai), tt.want)
			}
		})
	}
}

func TestFormatNumber(t *testing.T) {
	// 23:30 UTC on 25 November is 26 November in Shanghai.
	n := FormatNumber(time.Date(2026, 11, 25, 23, 30, 0, 0, time.UTC), 12)
	if n != "20261126000000001225" {
		t.Fatalf("FormatNumber = %s", n)
	}
	if err := identifiers.CheckNumber(n); err != nil {
		t.Fatal(err)
	}
}

// TestTimeJSONForm: a Time written digit by digit is exactly the layout's
// form, in UTC, for any year (outside four digits, as time.Format writes it).
func TestTimeJSONForm(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(2026, 1, 2, 3, 4, 5, 6007000, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("x", 3600)), cst(2026, 12, 31, 23, 59),
		time.Date(12026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		got, err := Time{at}.MarshalJSON()
		if want := `"` + at.UTC().Format(TimeLayout) + `"`; err != nil || string(got) != want {
			t.Errorf("%v: %s (%v), want %s", at, got, err, want)
		}
	}
}
