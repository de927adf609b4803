package main

import (
	"database/sql"
	"fmt"
	"testing"
	"time"
)

// TestTasksRunOnceAcrossInstances: with two registryd processes on one
// database, River's leader runs the periodic tasks. A registration whose
// expiry column is moved (in the database) into the past is looked at by
// the deadlines task, which settles it without an event (the registration's
// own state, which the column does not change, says it is not expired: the
// events themselves are tested with an injected clock in internal/httpapi);
// one moved to seven days and two seconds before its expiry gets exactly
// one 7-day reminder, whichever instance ran the task.
func TestTasksRunOnceAcrossInstances(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts two registryd processes")
	}
	ps := newProcesses(t, "tasks-admin-token-0123456789abcdef")
	var instances []*instance
	for i := range 2 {
		instances = append(instances, ps.start(fmt.Sprintf("registryd-%d", i+1), func(string) []string {
			return []string{"REGISTRY_DEADLINE_INTERVAL=300ms", "REGISTRY_METRICS_TOKEN=" + metricsToken}
		}))
	}
	for _, in := range instances {
		waitReady(t, in)
	}
	c := &caller{t: t}
	token := bankClerk(c, instances[0].base, ps.admin, `"registrant"`)
	expiring := c.json("POST", instances[0].base+"/api/v1/registrations", token, filingBody("设备甲"), 201)["number"].(string)
	reminded := c.json("POST", instances[1].base+"/api/v1/registrations", token, filingBody("设备乙"), 201)["number"].(string)
	db, err := sql.Open("pgx", ps.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The reminders' marks start when the task first runs.
	waitFor(t, "the reminder task's first run", func() bool {
		var n int
		return db.QueryRow("SELECT count(*) FROM reminder_marks").Scan(&n) == nil && n == 3
	})
	if _, err := db.Exec(`UPDATE registrations SET expires_at = CASE number
		WHEN $1 THEN now() - interval '1 second' ELSE now() + interval '7 days 2 seconds' END
		WHERE number IN ($1, $2)`, expiring, reminded); err != nil {
		t.Fatal(err)
	}
	count := func(q string, args ...any) int {
		var n int
		if err := db.QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	defer func() {
		if t.Failed() {
			for _, in := range instances {
				t.Logf("%s:\n%s", in.name, in.log)
			}
		}
	}()
	waitFor(t, "the expiry looked at and the reminder", func() bool {
		return count("SELECT count(*) FROM registrations WHERE expiry_recorded_at IS NOT NULL") > 0 &&
			count("SELECT count(*) FROM notifications WHERE days_before IS NOT NULL") > 0
	})
	time.Sleep(time.Second) // room for a second of either
	if n := count("SELECT count(*) FROM events WHERE type = 'expiry' AND registration_number = $1", expiring); n != 0 {
		t.Errorf("%d expiry events for a registration that has not expired", n)
	}
	if n := count("SELECT count(*) FROM notifications WHERE days_before IS NOT NULL AND registration_number = $1 AND days_before = 7", reminded); n != 1 {
		t.Errorf("%d reminders", n)
	}
	if n := count("SELECT count(*) FROM notifications WHERE days_before IS NOT NULL"); n != 1 {
		t.Errorf("%d reminders in all, want 1", n)
	}
	var sent float64
	for _, in := range instances {
		sent += metric(t, in.base, "registry_expiry_reminders_total")
	}
	if sent != 1 {
		t.Errorf("metrics: %v reminders, want 1", sent)
	}
}

// waitFor polls cond for up to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 30 s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
