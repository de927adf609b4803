package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/movable-registry/registry/internal/postgres"
)

// TestStatistics: filings, an amendment, a cancellation and searches are
// counted as they happen, by month (China Standard Time), kind and
// province (from the first grantor's USCC, the searcher's for searches),
// served to anyone without a token, as JSON and CSV (exact to staff; the
// public's withholding of few searches is TestPublicStatisticsWithholdFewSearches).
func TestStatistics(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, longLived)
	e.clock.Stop(t, time.Date(2027, 3, 31, 17, 0, 0, 0, time.UTC)) // 2027-04-01 01:00 in Shanghai
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	a := e.must(201, e.do("POST", "/registrations", bank.Token, filing(grantorName, usccs[1])))["number"].(string)
	lease := filing("上海云杉数控设备有限公司", "91440300MA5F8K2L74") // Guangdong (44)
	lease["kind"] = "financial_lease"
	e.must(201, e.do("POST", "/registrations", bank.Token, lease))
	e.must(201, e.do("POST", "/registrations/"+a+"/amendments", bank.Token, map[string]any{"description": "补充"}))
	e.must(201, e.do("POST", "/searches", bank.Token, map[string]any{"criteria": map[string]any{"uscc": usccs[1]}}))
	e.clock.Stop(t, time.Date(2027, 5, 2, 4, 0, 0, 0, time.UTC))
	e.must(201, e.do("POST", "/registrations/"+a+"/cancellation", bank.Token, map[string]any{"reason": "debt_repaid"}))

	auditor := e.newAccount(usccs[3], "auditor")
	get := func(query string) []any {
		t.Helper()
		return list(e.must(200, e.do("GET", "/statistics?"+query, auditor.Token, nil))["rows"])
	}
	rows := get("from=2027-03&to=2027-05&by=month")
	want := map[string][4]float64{"2027-04": {2, 1, 0, 1}, "2027-05": {0, 0, 1, 0}}
	if len(rows) != 2 {
		t.Fatalf("by month: %v", rows)
	}
	for _, r := range rows {
		r := r.(map[string]any)
		w := want[r["month"].(string)]
		if got := [4]float64{r["registrations"].(float64), r["amendments"].(float64), r["cancellations"].(float64), r["searches"].(float64)}; got != w {
			t.Errorf("%v: %v, want %v", r["month"], got, w)
		}
	}
	byKind := map[string]float64{}
	for _, r := range get("from=2027-01&to=2027-12&by=kind") {
		r := r.(map[string]any)
		byKind[r["kind"].(string)] = r["registrations"].(float64)
	}
	if byKind["chattel_mortgage"] != 1 || byKind["financial_lease"] != 1 {
		t.Errorf("by kind: %v", byKind)
	}
	byProvince := map[string]float64{}
	for _, r := range get("from=2027-01&to=2027-12&by=province") {
		r := r.(map[string]any)
		byProvince[r["province"].(string)] = r["registrations"].(float64) + r["searches"].(float64)
	}
	// usccs[1] and the bank's are Shanghai's (31): a filing and the search.
	if byProvince["31"] != 2 || byProvince["44"] != 1 {
		t.Errorf("by province: %v", byProvince)
	}
	csv := e.do("GET", "/statistics?from=2027-04&to=2027-04&format=csv", auditor.Token, nil)
	if csv.Status != 200 || !strings.HasPrefix(string(csv.Body), "month,registrations,amendments,cancellations,searches\n2027-04,2,1,0,1\n") {
		t.Errorf("CSV: %d %q", csv.Status, csv.Body)
	}
	e.problem(e.do("GET", "/statistics?by=grantor", "", nil), 422, "invalid_field")
	e.problem(e.do("GET", "/statistics?from=2027-13", "", nil), 422, "invalid_field")
	e.problem(e.do("GET", "/statistics?from=2027-05&to=2027-04", "", nil), 422, "invalid_field")
}

// TestStatisticsBackfill: the migration that made the statistics counted
// what the register already held exactly as the events and searches count
// as they happen.
func TestStatisticsBackfill(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	a := e.must(201, e.do("POST", "/registrations", bank.Token, filing(grantorName, usccs[1])))["number"].(string)
	lease := filing("上海云杉数控设备有限公司", "91440300MA5F8K2L74")
	lease["kind"] = "financial_lease"
	e.must(201, e.do("POST", "/registrations", bank.Token, lease))
	e.must(201, e.do("POST", "/registrations/"+a+"/amendments", bank.Token, map[string]any{"description": "补充"}))
	e.must(201, e.do("POST", "/registrations/"+a+"/cancellation", bank.Token, map[string]any{"reason": "debt_repaid"}))
	e.must(201, e.do("POST", "/searches", bank.Token, map[string]any{"criteria": map[string]any{"uscc": usccs[1]}}))
	snapshot := func() string {
		t.Helper()
		rows, err := e.db.Query(`SELECT month::text || '|' || kind || '|' || province || '|' || registrations || '|' || amendments || '|' || cancellations || '|' || searches
			FROM statistics ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			_ = rows.Scan(&s)
			out = append(out, s)
		}
		return strings.Join(out, "\n")
	}
	live := snapshot()
	p, err := goose.NewProvider(goose.DialectPostgres, e.db, postgres.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(t.Context(), 23); err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(t.Context(), 24); err != nil {
		t.Fatal(err)
	}
	if backfilled := snapshot(); backfilled != live || live == "" {
		t.Errorf("counted as they happened:\n%s\ncounted by the migration:\n%s", live, backfilled)
	}
}

// The public never sees how often one organization searched: a month and
// province with fewer than 5 searches (a search counts in its searcher's
// province) is left out of the public's sums, in every grouping, so that
// none can be subtracted from another, and a row with only such searches
// says searches_below 5 (null searches; "<5" in CSV). Staff see exact counts.
func TestPublicStatisticsWithholdFewSearches(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, longLived)
	e.clock.Stop(t, time.Date(2027, 4, 10, 4, 0, 0, 0, time.UTC))
	shanghai := e.newAccount(usccs[0], "searcher")              // 31
	guangdong := e.newAccount("91440300MA5F8K2L74", "searcher") // 44
	e.must(201, e.do("POST", "/searches", shanghai.Token, map[string]any{"criteria": map[string]any{"uscc": usccs[1]}}))
	for range 6 {
		e.must(201, e.do("POST", "/searches", guangdong.Token, map[string]any{"criteria": map[string]any{"uscc": usccs[1]}}))
	}
	auditor := e.newAccount(usccs[3], "auditor")
	rows := func(token, query string) map[string]map[string]any {
		t.Helper()
		out := map[string]map[string]any{}
		for _, r := range list(e.must(200, e.do("GET", "/statistics?from=2027-04&to=2027-04&"+query, token, nil))["rows"]) {
			r := r.(map[string]any)
			out[str(r["province"])+str(r["month"])+str(r["kind"])] = r
		}
		return out
	}
	public := rows("", "by=province")
	if r := public["31"]; r == nil || r["searches"] != nil || r["searches_below"] != float64(5) {
		t.Errorf("Shanghai's one search, to the public: %v", r)
	}
	if r := public["44"]; r == nil || r["searches"] != float64(6) || r["searches_below"] != nil {
		t.Errorf("Guangdong's six searches, to the public: %v", r)
	}
	if r := rows("", "by=month")["2027-04"]; r == nil || r["searches"] != float64(6) || r["searches_below"] != nil {
		t.Errorf("the month, to the public: %v (the one search must be left out, or it could be subtracted)", r)
	}
	if r := rows("", "by=kind")[""]; r == nil || r["searches"] != float64(6) {
		t.Errorf("by kind, to the public: %v", r)
	}
	csv := e.do("GET", "/statistics?from=2027-04&to=2027-04&by=province&format=csv", "", nil)
	if want := "province,registrations,amendments,cancellations,searches\n31,0,0,0,<5\n44,0,0,0,6\n"; string(csv.Body) != want {
		t.Errorf("CSV to the public: %q, want %q", csv.Body, want)
	}
	staff := rows(auditor.Token, "by=province")
	if staff["31"]["searches"] != float64(1) || staff["44"]["searches"] != float64(6) || staff["31"]["searches_below"] != nil {
		t.Errorf("to an auditor: %v", staff)
	}
	if r := rows(adminToken, "by=month")["2027-04"]; r["searches"] != float64(7) {
		t.Errorf("the month, to the admin: %v", r)
	}
	csv = e.do("GET", "/statistics?from=2027-04&to=2027-04&by=province&format=csv", auditor.Token, nil)
	if want := "province,registrations,amendments,cancellations,searches\n31,0,0,0,1\n44,0,0,0,6\n"; string(csv.Body) != want {
		t.Errorf("CSV to an auditor: %q, want %q", csv.Body, want)
	}
}
