package httpapi_test

import (
	"testing"
	"time"
)

// TestExpiryReminders moves the clock to just before and after each
// reminder instant of two registrations and checks that the controller gets
// each reminder once, at its instant: 90, 30 and 7 days before expiry, none
// for an instant that came before the registration was filed, and a new set
// for the expiry an extension makes.
func TestExpiryReminders(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, longLived)
	bank := e.newAccount(usccs[0], "registrant")
	grantor := e.newAccount(usccs[1], "registrant")
	file := func(months int) (string, time.Time) {
		f := filing("上海星辰精密机械有限公司", usccs[1])
		f["period_months"] = months
		r := e.must(201, e.do("POST", "/registrations", bank.Token, f))
		exp, err := time.Parse(time.RFC3339, r["expires_at"].(string))
		if err != nil {
			t.Fatal(err)
		}
		return r["number"].(string), exp
	}
	long, longExpiry := file(12)
	short, shortExpiry := file(2) // filed after its 90-day instant
	run := func(at time.Time, want int) {
		t.Helper()
		e.clock.Advance(at.Sub(e.clock.Now()))
		n, err := e.svc.SendExpiryReminders(t.Context())
		if err != nil || n != want {
			t.Fatalf("at %s: %d reminders stored, %v; want %d", at, n, err, want)
		}
	}
	days := func(d int) time.Duration { return time.Duration(d) * 24 * time.Hour }
	run(e.clock.Now(), 0)
	run(shortExpiry.Add(-days(30)-time.Minute), 0)
	run(shortExpiry.Add(-days(30)+time.Minute), 1)
	run(shortExpiry.Add(-days(30)+2*time.Minute), 0)
	run(shortExpiry.Add(-days(7)+time.Minute), 1)
	run(longExpiry.Add(-days(90)-time.Minute), 0)
	run(longExpiry.Add(-days(90)+time.Minute), 1)
	// Extended before its 30-day instant: the old expiry's 30 and 7 never
	// come, the new one's 90 does.
	ext := e.must(201, e.do("POST", "/registrations/"+long+"/extensions", bank.Token, map[string]any{"period_months": 12}))
	newExpiry, err := time.Parse(time.RFC3339, ext["expires_at"].(string))
	if err != nil || !newExpiry.After(longExpiry) {
		t.Fatalf("extension: %v, %v", ext["expires_at"], err)
	}
	run(longExpiry.Add(-days(7)+time.Minute), 0)
	run(newExpiry.Add(-days(90)+time.Minute), 1)
	run(newExpiry.Add(-days(30)+time.Minute), 1)

	got := list(e.must(200, e.do("GET", "/notifications?kind=expiry_reminder", bank.Token, nil))["items"])
	type key struct{ number, days, expires string }
	seen := map[key]int{}
	for _, n := range got {
		n := n.(map[string]any)
		d := n["detail"].(map[string]any)
		seen[key{n["registration_number"].(string), d["days_before"].(string), d["expires_at"].(string)[:19]}]++
		if n["event_number"] == "" {
			t.Errorf("a reminder names no event: %v", n)
		}
	}
	format := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }
	want := map[key]int{
		{short, "30", format(shortExpiry)}: 1, {short, "7", format(shortExpiry)}: 1,
		{long, "90", format(longExpiry)}: 1, {long, "90", format(newExpiry)}: 1, {long, "30", format(newExpiry)}: 1,
	}
	if len(seen) != len(want) {
		t.Errorf("reminders %v, want %v", seen, want)
	}
	for k, n := range want {
		if seen[k] != n {
			t.Errorf("reminder %v: %d, want %d (all: %v)", k, seen[k], n, seen)
		}
	}
	// The grantor is not the controller: it gets none.
	if got := list(e.must(200, e.do("GET", "/notifications?kind=expiry_reminder", grantor.Token, nil))["items"]); len(got) != 0 {
		t.Errorf("the grantor got %d reminders", len(got))
	}
}
