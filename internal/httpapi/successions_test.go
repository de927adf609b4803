package httpapi_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/registry"
)

// TestSuccession: an organization that controls 2,000 effective
// registrations (four of the run's chunks) merges into another. The succession is accepted at once
// (202) with the registrations to pass counted; its job is cut short half
// way, as a crash would cut it, and run again: every registration passes
// exactly once (one assignment event each, with its own number, audited and
// noticed to both organizations), those cancelled meanwhile fail, and the
// progress says so.
//
// The crash is the run's context ending mid-way, with RunSuccessions (the
// function River's registry_task worker calls) driven directly, not a River
// worker killed and restarted. What a real kill adds is River's part: the
// job row left "running" by the dead client is rescued after
// RescueStuckJobsAfter (30 s) and, a task being a periodic job with one
// attempt, the next period's job is what resumes. The resumption itself is
// RunSuccessions reading the marks the cut run committed, which this test
// checks; River's rescue is River's own, tested by River. Driving a second
// River client here would add a 30 s wait and a jobs package API to stop a
// client without letting its job finish (jobs.Jobs only has Stop, which
// waits), for no check of ours.
//
// How long 10,000 take is measured by BenchmarkSuccession, not here: the
// behaviour checked is the same at 2,000, at a fifth of make test's time.
func TestSuccession(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("passes 2,000 registrations")
	}
	const n = 2000
	e := newEnvWith(t, func(c *registry.Config) { c.ExtensionWindowDays = 0 })
	pred := e.newAccount(usccs[0], "registrant")
	succ := e.newAccount(usccs[3], "registrant")
	staff := e.newAccount(usccs[6], "admin")
	t0 := time.Now()
	numbers := e.preload(pred, n)
	t.Logf("preloaded in %v", time.Since(t0))
	path := "/organizations/" + pred.OrgID + "/succession"
	const address, representative = "上海市黄浦区中山东一路12号", "赵立新"
	req := map[string]any{"successor_uscc": succ.OrgUSCC, "basis": "merger", "document_number": "沪市监合〔2026〕第18号",
		"successor_address": address, "successor_legal_representative": representative}

	t.Run("what is refused", func(t *testing.T) {
		for _, c := range []struct {
			name   string
			token  string
			body   map[string]any
			status int
			field  string
		}{
			{"a registrant may not", pred.Token, req, 403, ""},
			{"a successor without an account", staff.Token, map[string]any{"successor_uscc": usccs[5], "basis": "merger", "document_number": "1"}, 422, "successor_uscc"},
			{"the organization itself", staff.Token, map[string]any{"successor_uscc": pred.OrgUSCC, "basis": "merger", "document_number": "1"}, 422, "successor_uscc"},
			{"a basis not known", staff.Token, map[string]any{"successor_uscc": succ.OrgUSCC, "basis": "sale", "document_number": "1"}, 422, "basis"},
			{"no document number", staff.Token, map[string]any{"successor_uscc": succ.OrgUSCC, "basis": "division"}, 422, "document_number"},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := e.do("POST", path, c.token, c.body)
				if r.Status != c.status {
					t.Fatalf("%s", r)
				}
				if c.field != "" {
					if got := fieldErrors(r.JSON(t)); len(got) != 1 || got[0][:len(c.field)] != c.field {
						t.Errorf("names %v, want %s", got, c.field)
					}
				}
			})
		}
		e.problem(e.do("POST", "/organizations/01a24f26-0000-7000-8000-000000000001/succession", staff.Token, req), 404, "not_found")
	})

	r := e.do("POST", path, staff.Token, req)
	started := e.must(202, r)
	id := started["id"].(string)
	if r.Header.Get("Location") != "/api/v1/successions/"+id || started["total"] != float64(n) || started["done"] != 0.0 ||
		started["status"] != "running" || started["successor_id"] != succ.OrgID {
		t.Fatalf("%s %s", r.Header.Get("Location"), r.Body)
	}
	e.problem(e.do("POST", path, staff.Token, req), 409, "conflict")
	// Three end before their turn: they are not passed.
	for _, n := range numbers[:3] {
		e.must(201, e.do("POST", "/registrations/"+n+"/cancellation", pred.Token, map[string]any{"reason": "debt_repaid"}))
	}

	// The crash: the run's context ends once half are passed. The five
	// minutes only bound a run that never gets that far (a failure below);
	// beside the package's other tests on two cores, half takes 5-20 s.
	ctx, crash := context.WithTimeout(context.Background(), 5*time.Minute)
	go func() {
		defer crash()
		for ctx.Err() == nil {
			var passed int
			if err := e.db.QueryRow("SELECT count(*) FROM succession_items WHERE succession_id = $1 AND state = 'passed'", id).Scan(&passed); err != nil || passed >= n/2 {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	t0 = time.Now()
	if _, err := e.svc.RunSuccessions(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("the cut run ended with %v", err)
	}
	crash()
	t.Logf("half in %v", time.Since(t0))
	half := e.must(200, e.do("GET", "/successions/"+id, staff.Token, nil))
	if done := half["done"].(float64); done < n/2 || done >= n-3 || half["status"] != "running" {
		t.Fatalf("after the crash: %v", half)
	}
	// What is marked is exactly what was passed: no event without its mark.
	// Both are read in one statement, one snapshot: a write whose caller
	// gave up at the crash may still commit with its batch after the
	// answer above was read, its event and its mark together.
	events := "SELECT count(*) FROM events WHERE type = 'amendment' AND convert_from(record, 'UTF8')::jsonb->'data'->'succession'->>'id' = $1"
	var assigned, marked int
	if err := e.db.QueryRow("SELECT ("+events+"), (SELECT count(*) FROM succession_items WHERE succession_id::text = $1 AND state = 'passed')", id).
		Scan(&assigned, &marked); err != nil {
		t.Fatal(err)
	}
	if assigned != marked {
		t.Fatalf("%d assignments, %d marked passed", assigned, marked)
	}

	t0 = time.Now()
	if _, err := e.svc.RunSuccessions(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("the rest in %v", time.Since(t0))
	done := e.must(200, e.do("GET", "/successions/"+id, staff.Token, nil))
	if done["total"] != float64(n) || done["done"] != float64(n-3) || done["failed"] != 3.0 || done["status"] != "done" || done["finished_at"] == nil {
		t.Errorf("at the end: %v", done)
	}
	if got := e.count(events, id); got != n-3 {
		t.Errorf("%d assignments, want %d", got, n-3)
	}
	if twice := e.count(`SELECT count(*) FROM (SELECT registration_number FROM events
		WHERE convert_from(record, 'UTF8')::jsonb->'data'->'succession'->>'id' = $1 GROUP BY 1 HAVING count(*) > 1) x`, id); twice != 0 {
		t.Errorf("%d registrations passed more than once", twice)
	}
	if got := e.count("SELECT count(DISTINCT number) FROM events WHERE convert_from(record, 'UTF8')::jsonb->'data'->'succession'->>'id' = $1", id); got != n-3 {
		t.Errorf("%d event numbers for %d assignments", got, n-3)
	}
	if got := e.count("SELECT count(*) FROM registrations WHERE controller_id = $1", succ.OrgID); got != n-3 {
		t.Errorf("the successor controls %d", got)
	}
	if got := e.count("SELECT count(*) FROM audit_entries WHERE action = 'registration.succession' AND outcome = 'success' AND user_id = $1", staff.UserID); got != n-3 {
		t.Errorf("%d assignments audited", got)
	}
	last := numbers[n-1]
	for _, org := range []string{pred.OrgID, succ.OrgID} {
		if got := e.count("SELECT count(*) FROM notifications WHERE organization_id = $1 AND registration_number = $2 AND event_type = 'amendment'", org, last); got != 1 {
			t.Errorf("%d notices to %s", got, org)
		}
	}
	// Running again passes nothing more.
	if n, err := e.svc.RunSuccessions(context.Background()); n != 0 || err != nil {
		t.Errorf("a third run passed %d: %v", n, err)
	}

	// The register replays the assignment: the successor controls it, first
	// among the secured parties, and changes it; the predecessor no longer.
	reg := e.must(200, e.do("GET", "/registrations/"+last, succ.Token, nil))
	parties := list(reg["secured_parties"])
	if reg["controller"].(map[string]any)["organization_id"] != succ.OrgID || len(parties) != 1 || parties[0].(map[string]any)["uscc"] != succ.OrgUSCC {
		t.Errorf("after the succession: controller %v, secured parties %v", reg["controller"], parties)
	}
	// Named as the 2021 Measures ask of a party added by amendment, and
	// the history says it was a succession, on what, in whose place.
	if p := obj(parties[0]); p["address"] != address || p["legal_representative"] != representative {
		t.Errorf("the successor is named without its domicile or legal representative: %v", p)
	}
	history := list(reg["history"])
	if got := obj(obj(history[len(history)-1])["succession"]); got["basis"] != "merger" || got["document_number"] != req["document_number"] || got["predecessor_uscc"] != pred.OrgUSCC {
		t.Errorf("the assignment's history entry says %v", history[len(history)-1])
	}
	e.must(201, e.do("POST", "/registrations/"+last+"/extensions", succ.Token, map[string]any{"period_months": 12}))
	e.problem(e.do("POST", "/registrations/"+numbers[n-2]+"/cancellation", pred.Token, map[string]any{"reason": "other"}), 403, "forbidden")
	e.problem(e.do("GET", "/successions/"+id, pred.Token, nil), 403, "forbidden")
}
