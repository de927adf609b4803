package httpapi_test

import (
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/registry"
)

// TestDeadlinesRecorded lets the clock pass a registration's expiry and an
// objection's lapse, and checks that the job records each once, as an event
// of its own, and leaves withdrawn and litigating objections alone.
func TestDeadlinesRecorded(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, longLived)
	bank := e.newAccount(usccs[0], "registrant")
	grantor := e.newAccount(usccs[1], "registrant")
	short := filing("上海星辰精密机械有限公司", usccs[1])
	short["period_months"] = 1
	r1 := e.must(201, e.do("POST", "/registrations", bank.Token, short))["number"].(string)
	r2 := e.must(201, e.do("POST", "/registrations", bank.Token, filing("上海星辰精密机械有限公司", usccs[1])))["number"].(string)
	object := func() string {
		return e.must(201, e.do("POST", "/registrations/"+r2+"/objections", grantor.Token, map[string]any{"statement": "我司从未设立此项担保。"}))["number"].(string)
	}
	lapsing, withdrawn, litigating := object(), object(), object()
	e.must(201, e.do("POST", "/registrations/"+r2+"/objections/"+withdrawn+"/withdrawal", grantor.Token, nil))
	e.must(201, e.do("POST", "/registrations/"+r2+"/objections/"+litigating+"/case-notice", grantor.Token, map[string]any{
		"court": "上海市浦东新区人民法院", "case_number": "(2026)沪0115民初1号", "accepted_on": e.clock.Now().In(registry.Shanghai).Format(time.DateOnly)}))

	if n, _, err := e.svc.RecordDeadlines(t.Context(), 100); err != nil || n != 0 {
		t.Fatalf("before any deadline: recorded %d, %v", n, err)
	}
	e.clock.Advance(40 * 24 * time.Hour)
	// Two at a time: the expiry and the first two objections' deadlines are
	// due, so the first call says there may be more.
	n1, more, err := e.svc.RecordDeadlines(t.Context(), 2)
	if err != nil || !more {
		t.Fatalf("recorded %d, more %v, %v", n1, more, err)
	}
	n2, more, err := e.svc.RecordDeadlines(t.Context(), 100)
	if err != nil || more || n1+n2 != 2 {
		t.Fatalf("recorded %d and %d, more %v, %v; want the expiry and the lapse", n1, n2, more, err)
	}
	if n, _, err := e.svc.RecordDeadlines(t.Context(), 100); err != nil || n != 0 {
		t.Errorf("recorded %d more, %v", n, err)
	}
	// A deadline listed twice (two instances at once) is recorded once.
	if _, err := e.db.Exec("UPDATE registrations SET expiry_recorded_at = NULL WHERE number = $1", r1); err != nil {
		t.Fatal(err)
	}
	if n, _, err := e.svc.RecordDeadlines(t.Context(), 100); err != nil || n != 0 {
		t.Errorf("an expiry recorded again: %d, %v", n, err)
	}

	got := e.must(200, e.do("GET", "/registrations/"+r1, bank.Token, nil))
	history := list(got["history"])
	last := history[len(history)-1].(map[string]any)
	if got["status"] != "expired" || last["type"] != "expiry" || len(history) != 2 {
		t.Errorf("r1: status %v, history %v", got["status"], history)
	}
	got = e.must(200, e.do("GET", "/registrations/"+r2, bank.Token, nil))
	lapses := 0
	for _, h := range list(got["history"]) {
		if h := h.(map[string]any); h["type"] == "objection_lapse" {
			lapses++
			if h["objection"] != lapsing {
				t.Errorf("a lapse recorded for %v, want %s", h["objection"], lapsing)
			}
		}
	}
	statuses := map[string]any{}
	for _, o := range list(got["objections"]) {
		o := o.(map[string]any)
		statuses[o["number"].(string)] = o["status"]
	}
	if lapses != 1 || statuses[lapsing] != "lapsed" || statuses[withdrawn] != "withdrawn" || statuses[litigating] != "litigating" {
		t.Errorf("r2: %d lapses recorded, objections %v", lapses, statuses)
	}
	// A litigating or withdrawn objection never lapses: its deadline is settled without an event.
	if n := e.count("SELECT count(*) FROM objection_deadlines WHERE settled_at IS NULL"); n != 0 {
		t.Errorf("%d deadlines unsettled", n)
	}
	if n := e.count("SELECT count(*) FROM audit_entries WHERE actor = 'registry' AND action IN ('registration.record_expiry', 'objection.record_lapse')"); n != 2 {
		t.Errorf("%d audit entries by the registry", n)
	}
	// Each of the two events notified its organizations.
	if n := e.count("SELECT count(DISTINCT event_number) FROM notifications WHERE (kind, event_type) IN (('registration_changed', 'expiry'), ('objection', 'objection_lapse'))"); n != 2 {
		t.Errorf("%d events of expiry and lapse with notices", n)
	}
}
