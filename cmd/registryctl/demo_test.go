package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/movable-registry/registry/internal/registry"
)

// The demo fills an empty register with one of every state a user meets,
// prints the sign-ins, and run again says the register has them already.
// On a register whose search answers hold 5 (as make sandbox sets), one of
// its searches finds more, so that an integrator can page through it.
func TestDemoFillsARegister(t *testing.T) {
	t.Parallel()
	r := openRegisterWith(t, func(c *registry.Config) { c.MaxResults = 5 })
	var out bytes.Buffer
	var errOut bytes.Buffer
	if code := run(context.Background(), []string{"demo", "-url", r.url, "-admin-token", adminToken}, func(string) string { return "" }, &out, &errOut); code != 0 {
		t.Log(errOut.String())
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	for _, want := range []string{"clerk@spdb.demo", "auditor@registry.demo", "demo password 2026", "17 registrations, 4 searches"} {
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
	// The search for the factoring borrower found more than its answer
	// held: the rest is paged from the stored search.
	var paged int
	if err := r.db.QueryRow("SELECT count(*) FROM searches WHERE result_count > 5").Scan(&paged); err != nil || paged != 1 {
		t.Errorf("%d searches found more than a page of 5 (%v), want 1", paged, err)
	}
	out.Reset()
	if code := run(context.Background(), []string{"demo", "-url", r.url, "-admin-token", adminToken}, func(string) string { return "" }, &out, io.Discard); code != 0 || !strings.Contains(out.String(), "already") {
		t.Errorf("a second run: exit %d:\n%s", code, out.String())
	}
}
