package httpapi_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	colleague := e.newUser(bank.OrgID, usccs[0], "registrant")
	body := filing(grantorName, usccs[1])

	t.Run("a retry gets the first answer, modification code included, and files nothing", func(t *testing.T) {
		first := e.do("POST", "/registrations", bank.Token, body, "Idempotency-Key", "retry-1")
		a := e.must(201, first)
		events := e.count("SELECT count(*) FROM events")
		again := e.do("POST", "/registrations", bank.Token, body, "Idempotency-Key", "retry-1")
		b := e.must(201, again)
		if diff := cmp.Diff(b, a); diff != "" {
			t.Errorf("retry answer (-retry +first):\n%s", diff)
		}
		if again.Header.Get("Idempotent-Replayed") != "true" || first.Header.Get("Idempotent-Replayed") != "" {
			t.Errorf("Idempotent-Replayed: first %q, retry %q", first.Header.Get("Idempotent-Replayed"), again.Header.Get("Idempotent-Replayed"))
		}
		if again.Header.Get("Location") != first.Header.Get("Location") {
			t.Errorf("Location %q, first %q", again.Header.Get("Location"), first.Header.Get("Location"))
		}
		if got := e.count("SELECT count(*) FROM events"); got != events {
			t.Errorf("the retry wrote %d events", got-events)
		}
		if got := e.count("SELECT count(*) FROM audit_entries WHERE action = 'registration.file' AND user_id = $1 AND detail LIKE 'replayed%'", bank.UserID); got != 1 {
			t.Errorf("%d audit entries for the replay", got)
		}
		// The stored answer is sealed: the modification code is not in it in clear.
		if n := e.count("SELECT count(*) FROM idempotency_keys WHERE position($1::bytea in response) > 0", []byte(a["modification_code"].(string))); n != 0 {
			t.Error("the modification code is stored in clear")
		}
	})
	t.Run("the same key with another body is 422 idempotency_key_reused", func(t *testing.T) {
		e.must(201, e.do("POST", "/registrations", bank.Token, body, "Idempotency-Key", "retry-2"))
		other := filing("另一家公司有限公司", usccs[5])
		e.problem(e.do("POST", "/registrations", bank.Token, other, "Idempotency-Key", "retry-2"), 422, "idempotency_key_reused")
		e.problem(e.do("POST", "/searches", bank.Token, byName(grantorName), "Idempotency-Key", "retry-2"), 422, "idempotency_key_reused")
	})
	t.Run("keys are the user's own", func(t *testing.T) {
		a := e.must(201, e.do("POST", "/registrations", bank.Token, body, "Idempotency-Key", "retry-3"))
		b := e.must(201, e.do("POST", "/registrations", colleague.Token, body, "Idempotency-Key", "retry-3"))
		if a["number"] == b["number"] {
			t.Error("another user's request with the same key got the first user's answer")
		}
	})
	t.Run("a refused request leaves its key unused", func(t *testing.T) {
		bad := filing(grantorName, "91310115MA1K3YJ12H")
		e.problem(e.do("POST", "/registrations", bank.Token, bad, "Idempotency-Key", "retry-4"), 422, "invalid_uscc")
		e.must(201, e.do("POST", "/registrations", bank.Token, body, "Idempotency-Key", "retry-4"))
	})
	t.Run("searches, changes and accounts replay too", func(t *testing.T) {
		a := e.must(201, e.do("POST", "/searches", bank.Token, byName(grantorName), "Idempotency-Key", "s-1"))
		b := e.must(201, e.do("POST", "/searches", bank.Token, byName(grantorName), "Idempotency-Key", "s-1"))
		if a["number"] != b["number"] {
			t.Errorf("search retried: %v then %v", a["number"], b["number"])
		}
		n := e.must(201, e.do("POST", "/registrations", bank.Token, body))["number"].(string)
		c1 := e.must(201, e.do("POST", "/registrations/"+n+"/cancellation", bank.Token, `{"reason":"debt_repaid"}`, "Idempotency-Key", "c-1"))
		c2 := e.must(201, e.do("POST", "/registrations/"+n+"/cancellation", bank.Token, `{"reason":"debt_repaid"}`, "Idempotency-Key", "c-1"))
		if !cmp.Equal(c1, c2) {
			t.Error("a retried cancellation was not answered like the first")
		}
		o1 := e.must(201, e.do("POST", "/organizations", adminToken, map[string]any{"name": "重试公司", "uscc": usccs[6], "kind": "other"}, "Idempotency-Key", "o-1"))
		o2 := e.must(201, e.do("POST", "/organizations", adminToken, map[string]any{"name": "重试公司", "uscc": usccs[6], "kind": "other"}, "Idempotency-Key", "o-1"))
		if o1["id"] != o2["id"] {
			t.Errorf("organization retried: %v then %v", o1["id"], o2["id"])
		}
	})
	t.Run("a malformed key is 422", func(t *testing.T) {
		p := e.problem(e.do("POST", "/registrations", bank.Token, body, "Idempotency-Key", strings.Repeat("k", 256)), 422, "invalid_field")
		if diff := cmp.Diff(fieldErrors(p), []string{"Idempotency-Key invalid_field"}); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("concurrent retries with one key make one registration", func(t *testing.T) {
		before := e.count("SELECT count(*) FROM registrations")
		const n = 16
		got := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := e.do("POST", "/registrations", bank.Token, body, "Idempotency-Key", "race-1")
				if r.Status != 201 {
					t.Errorf("status %d: %s", r.Status, r.Body)
					return
				}
				got[i] = r.JSON(t)["number"].(string)
			}()
		}
		wg.Wait()
		for _, g := range got {
			if g != got[0] {
				t.Fatalf("numbers differ: %v", got)
			}
		}
		if after := e.count("SELECT count(*) FROM registrations"); after != before+1 {
			t.Errorf("%d registrations made", after-before)
		}
	})
}

func TestIfMatchAndRaces(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant")
	file := func() string {
		return e.must(201, e.do("POST", "/registrations", bank.Token, filing(grantorName, usccs[1])))["number"].(string)
	}

	t.Run("a stale If-Match is 412 version_mismatch; the current one passes", func(t *testing.T) {
		n := file()
		etag := e.do("GET", "/registrations/"+n, bank.Token, nil).Header.Get("ETag")
		r := e.do("POST", "/registrations/"+n+"/amendments", bank.Token, map[string]any{"description": "v2"}, "If-Match", etag)
		e.must(201, r)
		if r.Header.Get("ETag") != `"2"` {
			t.Errorf("ETag after the amendment %q", r.Header.Get("ETag"))
		}
		e.problem(e.do("POST", "/registrations/"+n+"/amendments", bank.Token, map[string]any{"description": "v3"}, "If-Match", etag), 412, "version_mismatch")
		e.problem(e.do("POST", "/registrations/"+n+"/extensions", bank.Token, map[string]any{"period_months": 1}, "If-Match", etag), 412, "version_mismatch")
		e.problem(e.do("POST", "/registrations/"+n+"/cancellation", bank.Token, `{"reason":"other"}`, "If-Match", etag), 412, "version_mismatch")
		e.must(201, e.do("POST", "/registrations/"+n+"/cancellation", bank.Token, `{"reason":"other"}`, "If-Match", `W/"1", "2"`))
	})

	t.Run("If-Match's quotes are optional; a value that is no version is 422 naming If-Match", func(t *testing.T) {
		n := file()
		r := e.do("POST", "/registrations/"+n+"/amendments", bank.Token, map[string]any{"description": "v2"}, "If-Match", "1")
		e.must(201, r)
		e.problem(e.do("POST", "/registrations/"+n+"/amendments", bank.Token, map[string]any{"description": "v3"}, "If-Match", "1"), 412, "version_mismatch")
		for _, bad := range []string{"abc", `"2`, `""`, `"2", x`, "-2", "2.0", `*, "2"`} {
			for _, path := range []string{"/amendments", "/extensions", "/cancellation"} {
				body := map[string]any{"/amendments": map[string]any{"description": "v3"}, "/extensions": map[string]any{"period_months": 1}, "/cancellation": map[string]any{"reason": "other"}}[path]
				p := e.problem(e.do("POST", "/registrations/"+n+path, bank.Token, body, "If-Match", bad), 422, "invalid_field")
				if diff := cmp.Diff(fieldErrors(p), []string{"If-Match invalid_field"}); diff != "" {
					t.Errorf("If-Match %q on %s: errors (-got +want):\n%s", bad, path, diff)
				}
			}
		}
		// Nothing was changed by them: the version is still 2.
		if got := e.do("GET", "/registrations/"+n, bank.Token, nil).Header.Get("ETag"); got != `"2"` {
			t.Errorf("ETag %q", got)
		}
		e.must(201, e.do("POST", "/registrations/"+n+"/cancellation", bank.Token, map[string]any{"reason": "other"}, "If-Match", "W/2"))
	})

	t.Run("exactly one of many racing cancellations succeeds", func(t *testing.T) {
		for round := range 3 {
			n := file()
			const racers = 24
			statuses := make([]int, racers)
			var wg sync.WaitGroup
			for i := range racers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var headers []string
					if i%2 == 0 {
						headers = []string{"If-Match", `"1"`}
					}
					statuses[i] = e.do("POST", "/registrations/"+n+"/cancellation", bank.Token, `{"reason":"debt_repaid"}`, headers...).Status
				}()
			}
			wg.Wait()
			count := map[int]int{}
			for _, s := range statuses {
				count[s]++
			}
			if count[201] != 1 || count[201]+count[409]+count[412] != racers {
				t.Errorf("round %d: statuses %v", round, count)
			}
			if got := e.count("SELECT count(*) FROM events WHERE registration_number = $1 AND type = 'cancellation'", n); got != 1 {
				t.Errorf("round %d: %d cancellation events", round, got)
			}
		}
	})

	t.Run("racing amendments without If-Match lose no update", func(t *testing.T) {
		n := file()
		const racers = 20
		var wg sync.WaitGroup
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := e.do("POST", "/registrations/"+n+"/amendments", bank.Token, map[string]any{
					"add_items": []any{map[string]any{"type": "equipment", "serial_number": "RACE-" + strconv.Itoa(i)}},
				})
				if r.Status != 201 {
					t.Errorf("status %d: %s", r.Status, r.Body)
				}
			}()
		}
		wg.Wait()
		reg := e.must(200, e.do("GET", "/registrations/"+n, bank.Token, nil))
		if items := list(obj(reg["collateral"])["items"]); len(items) != racers+1 || reg["version"] != float64(racers+1) {
			t.Errorf("%d items at version %v, want %d at %d", len(items), reg["version"], racers+1, racers+1)
		}
	})
}

func TestEveryChangeIsAudited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant")
	grantor := e.newAccount(usccs[1], "registrant")
	f := filing(grantorName, usccs[1])
	f["period_months"] = 2
	n := e.must(201, e.do("POST", "/registrations", bank.Token, f))["number"].(string)
	e.must(201, e.do("POST", "/registrations/"+n+"/amendments", bank.Token, map[string]any{"description": "x"}))
	e.must(201, e.do("POST", "/registrations/"+n+"/extensions", bank.Token, map[string]any{"period_months": 1}))
	e.must(201, e.do("POST", "/registrations/"+n+"/modification-code", bank.Token, nil))
	o := e.must(201, e.do("POST", "/registrations/"+n+"/objections", grantor.Token, map[string]any{"statement": "x"}))["number"].(string)
	e.must(201, e.do("POST", "/registrations/"+n+"/objections/"+o+"/withdrawal", grantor.Token, nil))
	e.must(201, e.do("POST", "/registrations/"+n+"/revocation", adminToken, map[string]any{"authority": "a", "document_number": "d"}))
	e.problem(e.do("POST", "/registrations/"+n+"/amendments", bank.Token, map[string]any{"description": "y"}), 409, "registration_not_effective")

	rows, err := e.db.Query("SELECT action, outcome, user_id IS NOT NULL OR actor = 'bootstrap_admin' FROM audit_entries WHERE target = $1 ORDER BY id", n)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var action, outcome string
		var actor bool
		if err := rows.Scan(&action, &outcome, &actor); err != nil {
			t.Fatal(err)
		}
		if !actor {
			t.Errorf("%s has no actor", action)
		}
		got = append(got, action+" "+outcome)
	}
	want := []string{"registration.file success", "registration.amend success", "registration.extend success", "registration.rotate_code success",
		"objection.file success", "objection.withdraw success", "registration.revoke success", "registration.amend invalid"}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("audit trail (-got +want):\n%s", diff)
	}
	events := e.count("SELECT count(*) FROM events WHERE registration_number = $1", n)
	if audited := e.count("SELECT count(*) FROM audit_entries WHERE target = $1 AND outcome = 'success' AND detail <> ''", n); audited != events {
		t.Errorf("%d events, %d audited with their event number", events, audited)
	}
}

// TestIdempotencyKeysExpire: a key replays its first answer within
// idempotency.retention (24 h) and is new again after it, in a batch and
// alone; the purge deletes only the expired keys, with their sealed answers.
func TestIdempotencyKeysExpire(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, longLived)
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	body := filing(grantorName, usccs[1])
	first := e.must(201, e.do("POST", "/registrations", bank.Token, body, "Idempotency-Key", "daily-1"))
	e.clock.Advance(23 * time.Hour)
	if again := e.must(201, e.do("POST", "/registrations", bank.Token, body, "Idempotency-Key", "daily-1")); again["number"] != first["number"] {
		t.Fatalf("within the retention: %v, want the replay of %v", again["number"], first["number"])
	}
	e.must(201, e.do("POST", "/registrations", bank.Token, body, "Idempotency-Key", "daily-2"))
	e.clock.Advance(2 * time.Hour)
	// daily-1 is 25 h old: expired, so the same key files anew, and may
	// even carry another body; daily-2 (2 h) still replays.
	other := filing("上海星辰精密机械（集团）有限公司", usccs[1])
	renewed := e.must(201, e.do("POST", "/registrations", bank.Token, other, "Idempotency-Key", "daily-1"))
	if renewed["number"] == first["number"] {
		t.Errorf("an expired key replayed its answer")
	}
	if n := e.count("SELECT count(*) FROM idempotency_keys"); n != 2 {
		t.Errorf("%d keys stored, want 2 (the renewed one replaced the expired one)", n)
	}
	e.clock.Advance(23 * time.Hour)
	// daily-2 is now 25 h old, the renewed daily-1 23 h.
	n, err := e.svc.PurgeIdempotencyKeys(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("purged %d, %v; want 1", n, err)
	}
	if again := e.must(201, e.do("POST", "/registrations", bank.Token, other, "Idempotency-Key", "daily-1")); again["number"] != renewed["number"] {
		t.Errorf("the renewed key does not replay after the purge")
	}
	if n := e.count("SELECT count(*) FROM idempotency_keys"); n != 1 {
		t.Errorf("%d keys left after the purge, want 1", n)
	}
}
