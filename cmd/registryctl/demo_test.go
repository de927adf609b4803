package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// The demo fills an empty register with one of every state a user meets,
// prints the sign-ins, and run again says the register has them already.
func TestDemoFillsARegister(t *testing.T) {
	t.Parallel()
	r := openRegister(t)
	var out bytes.Buffer
	var errOut bytes.Buffer
	if code := run(context.Background(), []string{"demo", "-url", r.url, "-admin-token", adminToken}, func(string) string { return "" }, &out, &errOut); code != 0 {
		t.Log(errOut.String())
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	for _, want := range []string{"clerk@spdb.demo", "auditor@registry.demo", "demo password 2026", "8 registrations, 3 searches"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q:\n%s", want, out.String())
		}
	}
	var states []string
	rows, err := r.db.Query("SELECT status FROM registrations ORDER BY status")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		states = append(states, s)
	}
	rows.Close()
	joined := strings.Join(states, " ")
	for _, want := range []string{"cancelled", "effective", "revoked"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no %s registration: %v", want, states)
		}
	}
	var objections int
	if err := r.db.QueryRow("SELECT count(*) FROM events WHERE type = 'objection'").Scan(&objections); err != nil || objections != 1 {
		t.Errorf("%d objections (%v), want 1", objections, err)
	}
	out.Reset()
	if code := run(context.Background(), []string{"demo", "-url", r.url, "-admin-token", adminToken}, func(string) string { return "" }, &out, io.Discard); code != 0 || !strings.Contains(out.String(), "already") {
		t.Errorf("a second run: exit %d:\n%s", code, out.String())
	}
}
