package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/movable-registry/registry/internal/httpapi"
	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/registry"
)

// pageOf reads a list's answer as its items (each as the JSON it was sent
// as) and its next_cursor.
func pageOf(t *testing.T, r response) (items []string, next string) {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("%s", r)
	}
	var page struct {
		Items      []json.RawMessage `json:"items"`
		NextCursor *string           `json:"next_cursor"`
	}
	if err := json.Unmarshal(r.Body, &page); err != nil {
		t.Fatalf("not a page: %v: %.200s", err, r.Body)
	}
	for _, it := range page.Items {
		var b bytes.Buffer
		if err := json.Compact(&b, it); err != nil {
			t.Fatal(err)
		}
		items = append(items, b.String())
	}
	if page.NextCursor != nil {
		if *page.NextCursor == "" {
			t.Fatalf("an empty next_cursor: %.200s", r.Body)
		}
		next = *page.NextCursor
	}
	return items, next
}

// withQuery adds a parameter to a path.
func withQuery(path, name, value string) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + name + "=" + url.QueryEscape(value)
}

// listRoutes are the API's lists: every GET whose answer is a page with a
// next_cursor (as the OpenAPI document says), but the pages of a stored
// search's results, which the search bounds itself (search_test.go).
func listRoutes(t *testing.T) map[string]bool {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Content map[string]struct {
					Schema struct {
						Ref        string                    `yaml:"$ref"`
						Properties map[string]map[string]any `yaml:"properties"`
					} `yaml:"schema"`
				} `yaml:"content"`
			} `yaml:"responses"`
		} `yaml:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `yaml:"properties"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(httpapi.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for path, ops := range doc.Paths {
		op, ok := ops["get"]
		if !ok {
			continue
		}
		s := op.Responses["200"].Content["application/json"].Schema
		props := map[string]any{}
		for k, v := range s.Properties {
			props[k] = v
		}
		if name, ok := strings.CutPrefix(s.Ref, "#/components/schemas/"); ok {
			props = doc.Components.Schemas[name].Properties
		}
		_, items := props["items"]
		_, next := props["next_cursor"]
		if items && next && path != "/searches/{number}/results" {
			out[path] = true
		}
	}
	return out
}

// TestListAnswersAreBoundedInBytes: every list's answer is bounded in bytes
// as well as by limit. With the bound made small, each list (read with the
// largest limit) ends before the item that would pass it, with a cursor
// there; paging with the cursors gives every item exactly once, in the
// order of the whole list; a page of one item larger than the bound is
// still answered, so paging always moves on.
func TestListAnswersAreBoundedInBytes(t *testing.T) {
	t.Parallel()
	const budget = 2048
	e := newEnvWith(t, func(*registry.Config) {}, func(s *stack) { s.API.MaxListBytes = budget })
	// The same service without the bound, for the whole lists to compare.
	whole := httpx.New(httpx.Options{Now: e.clock.Now}, httpapi.NewRouter(e.svc, httpapi.Options{Now: e.clock.Now, MaxListBytes: 1 << 30}), nil)
	ctx := context.Background()

	bank := e.newAccount(usccs[0], "registrant", "searcher", "org_admin")
	watcher := e.newAccount(usccs[4], "registrant", "searcher", "org_admin")
	auditor := e.newAccount(usccs[3], "auditor")
	for i := range 10 {
		e.must(201, e.do("POST", "/organizations", adminToken, map[string]any{"name": fmt.Sprintf("某某机械制造有限公司第%d分公司", i), "uscc": freshUSCC(), "kind": "enterprise"}))
	}
	// A user with tokens, beside others in the bank.
	e.must(201, e.do("POST", "/users", adminToken, map[string]any{"organization_id": bank.OrgID, "email": "many-tokens@example.cn", "display_name": "令牌", "roles": []string{"registrant"}, "password": "a long enough password"}))
	var holder string
	for range 12 {
		holder = e.must(201, e.do("POST", "/tokens", "", map[string]any{"email": "many-tokens@example.cn", "password": "a long enough password"}))["token"].(string)
	}
	for i := range 10 {
		e.must(201, e.do("POST", "/users", adminToken, map[string]any{"organization_id": bank.OrgID, "email": fmt.Sprintf("u%d@example.cn", i), "display_name": "用户", "roles": []string{"searcher"}, "password": "a long enough password"}))
	}
	// Watches, and filings they match: notices.
	e.must(201, e.do("POST", "/watches", watcher.Token, map[string]any{"criteria": map[string]any{"uscc": usccs[1]}}))
	for i := range 12 {
		e.must(201, e.do("POST", "/watches", watcher.Token, map[string]any{"criteria": map[string]any{"serial_number": fmt.Sprintf("SN-%d", i)}, "note": strings.Repeat("备注", 20)}))
	}
	var filings []any
	for i := range 30 {
		f := filing(fmt.Sprintf("上海星辰精密机械%d有限公司", i), usccs[1])
		if i == 7 {
			// One registration larger than the bound on its own.
			var items []any
			for k := range 40 {
				items = append(items, map[string]any{"type": "equipment", "serial_number": fmt.Sprintf("BIG-%d", k), "description": "数控加工中心"})
			}
			f["collateral"].(map[string]any)["items"] = items
		}
		filings = append(filings, f)
	}
	e.must(200, e.do("POST", "/registrations/batch", bank.Token, map[string]any{"filings": filings}))
	// Webhooks (at most ten) with long addresses, and attempts at delivering.
	var hook string
	for i := range 10 {
		hook = e.must(201, e.do("POST", "/webhooks", watcher.Token, map[string]any{"url": fmt.Sprintf("http://127.0.0.1:9/notices/%d/%s", i, strings.Repeat("p", 150)), "secret": "a webhook secret of enough length"}))["id"].(string)
	}
	notices, _ := pageOf(t, e.do("GET", "/notifications", watcher.Token, nil))
	if len(notices) == 0 {
		t.Fatal("no notices")
	}
	var notice struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(notices[0]), &notice); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := e.store.RecordDelivery(ctx, registry.DeliveryAttempt{WebhookID: hook, NotificationID: notice.ID, Attempt: i + 1, At: registry.At(e.clock.Now()), Error: "connection refused: " + strings.Repeat("x", 100)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 12 {
		e.must(201, e.do("POST", "/drafts", bank.Token, map[string]any{"kind": "chattel_mortgage", "reference": fmt.Sprintf("草稿-%d", i), "collateral": map[string]any{"description": strings.Repeat("设备", 50)}}))
		e.must(201, e.do("POST", "/parties", bank.Token, map[string]any{"label": fmt.Sprintf("常用%d", i), "party": map[string]any{"type": "organization", "name": fmt.Sprintf("某某有限公司%d", i), "uscc": freshUSCC(), "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"}}))
	}
	for range 20 {
		e.must(201, e.do("POST", "/searches", bank.Token, map[string]any{"criteria": map[string]any{"uscc": usccs[1]}}))
	}

	cases := []struct {
		path, token string
		limit       bool // takes limit (the log's pages have their own sizes)
	}{
		{"/organizations", adminToken, true},
		{"/users", adminToken, true},
		{"/tokens", holder, true},
		{"/registrations?controller=mine", bank.Token, true},
		{"/notifications", watcher.Token, true},
		{"/watches", watcher.Token, true},
		{"/webhooks", watcher.Token, true},
		{"/webhooks/" + hook + "/deliveries", watcher.Token, true},
		{"/drafts", bank.Token, true},
		{"/parties", bank.Token, true},
		{"/searches?mine=true", bank.Token, true},
		{"/audit", adminToken, true},
		{"/log/entries", auditor.Token, false},
		{"/log/columns", auditor.Token, false},
		{"/log/state", auditor.Token, false},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		route := strings.SplitN(c.path, "?", 2)[0]
		route = strings.Replace(route, hook, "{id}", 1)
		covered[route] = true
		t.Run(route, func(t *testing.T) {
			defer func(parent testing.TB) { e.t = parent }(e.t)
			e.t = t
			first := c.path
			if c.limit {
				first = withQuery(first, "limit", "500")
			}
			cursorName := "cursor"
			switch route {
			case "/log/entries", "/log/columns":
				cursorName = "from"
			case "/log/state":
				cursorName = "after"
			}
			// The whole list, in one answer.
			req := httptest.NewRequest("GET", httpapi.BasePath+first, nil)
			req.Header.Set("Authorization", "Bearer "+c.token)
			w := httptest.NewRecorder()
			whole.ServeHTTP(w, req)
			want, next := pageOf(t, response{Status: w.Code, Body: w.Body.Bytes()})
			if next != "" {
				t.Fatalf("the whole list is more than one page of 500")
			}
			var got []string
			cut := false
			for page, path := 0, first; ; page++ {
				if page > len(want)+1 {
					t.Fatalf("paging does not end: %d pages for %d items", page, len(want))
				}
				r := e.do("GET", path, c.token, nil)
				items, next := pageOf(t, r)
				if len(r.Body) > budget && len(items) > 1 {
					t.Errorf("page %d: %d bytes in %d items, over the bound of %d", page, len(r.Body), len(items), budget)
				}
				if len(items) == 0 && next != "" {
					t.Fatalf("page %d: no items, and a cursor", page)
				}
				got = append(got, items...)
				if next == "" {
					break
				}
				cut = true
				path = withQuery(first, cursorName, next)
			}
			if !cut {
				t.Errorf("%d items in %d bytes were answered in one page", len(want), len(strings.Join(want, ",")))
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("paging gave %d items, the whole list is %d (or in another order)", len(got), len(want))
			}
			seen := map[string]bool{}
			for _, it := range got {
				if seen[it] {
					t.Errorf("given twice: %.100s", it)
				}
				seen[it] = true
			}
		})
	}
	for route := range listRoutes(t) {
		if !covered[route] {
			t.Errorf("the list %s is not checked here", route)
		}
	}
}

// TestDraftsAnswerIsAtMost4MiB: six drafts of nearly 1 MiB each, read with
// limit=500, come in answers of at most 4 MiB, with a cursor to the rest;
// paging gives each once.
func TestDraftsAnswerIsAtMost4MiB(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant")
	items := make([]any, 1000)
	for i := range items {
		items[i] = map[string]any{"type": "equipment", "serial_number": fmt.Sprintf("S-%04d", i), "description": strings.Repeat("x", 950)}
	}
	ids := map[string]int{}
	for i := range 6 {
		d := e.must(201, e.do("POST", "/drafts", bank.Token, map[string]any{"reference": fmt.Sprint(i), "collateral": map[string]any{"items": items}}))
		ids[d["id"].(string)] = 0
	}
	pages := 0
	for path := "/drafts?limit=500"; path != ""; pages++ {
		r := e.do("GET", path, bank.Token, nil)
		if len(r.Body) > httpapi.MaxListBytes {
			t.Fatalf("an answer of %d bytes", len(r.Body))
		}
		page := e.must(200, r)
		for _, d := range list(page["items"]) {
			ids[obj(d)["id"].(string)]++
		}
		path = ""
		if next, ok := page["next_cursor"].(string); ok {
			path = "/drafts?limit=500&cursor=" + next
		}
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("draft %s given %d times", id, n)
		}
	}
	if pages < 2 {
		t.Errorf("%d pages", pages)
	}
}

// TestDraftsAreBounded: a draft holds at most 1,000 items and 1 MiB of
// JSON, on POST and PUT alike (422 naming the field); a body over the API's
// 1 MiB is 413 before that. Nothing is kept of a refused draft.
func TestDraftsAreBounded(t *testing.T) {
	t.Parallel()
	items := func(n, size int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = map[string]any{"type": "equipment", "serial_number": fmt.Sprintf("S-%04d", i), "description": strings.Repeat("y", size)}
		}
		return out
	}
	draft := func(items []any) map[string]any {
		return map[string]any{"kind": "chattel_mortgage", "collateral": map[string]any{"items": items}}
	}
	// Bodies up to 4 MiB reach the service, whose own bound is then seen.
	e := newEnvWith(t, func(*registry.Config) {}, func(s *stack) { s.API.MaxBodyBytes = 4 << 20 })
	bank := e.newAccount(usccs[0], "registrant")
	id := e.must(201, e.do("POST", "/drafts", bank.Token, draft(items(1000, 10))))["id"].(string)
	e.must(200, e.do("PUT", "/drafts/"+id, bank.Token, draft(items(1000, 900))))
	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"1,001 items", draft(items(1001, 1)), "collateral.items"},
		{"1,072 items of 900 characters", draft(items(1072, 900)), "collateral.items"},
		{"over 1 MiB in 1,000 items", draft(items(1000, 1500)), "(body)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func(parent testing.TB) { e.t = parent }(e.t)
			e.t = t
			before := e.count("SELECT count(*) FROM drafts")
			p := e.problem(e.do("POST", "/drafts", bank.Token, tc.body), 422, "invalid_field")
			if f := fieldErrors(p); len(f) != 1 || f[0] != tc.field+" invalid_field" {
				t.Errorf("POST: fields %v, want %s", f, tc.field)
			}
			p = e.problem(e.do("PUT", "/drafts/"+id, bank.Token, tc.body), 422, "invalid_field")
			if f := fieldErrors(p); len(f) != 1 || f[0] != tc.field+" invalid_field" {
				t.Errorf("PUT: fields %v, want %s", f, tc.field)
			}
			if n := e.count("SELECT count(*) FROM drafts"); n != before {
				t.Errorf("%d drafts, were %d", n, before)
			}
			if n := e.count("SELECT jsonb_array_length(filing->'collateral'->'items') FROM drafts WHERE id = $1", id); n != 1000 {
				t.Errorf("the draft was changed to %d items", n)
			}
		})
	}
	// At the API's own body limit, a body over 1 MiB is refused unread.
	d := newEnv(t)
	other := d.newAccount(usccs[1], "registrant")
	d.problem(d.do("POST", "/drafts", other.Token, draft(items(1000, 1500))), 413, "payload_too_large")
}

// TestHashTilesAtImpossibleLevels: a hash tile at a level the tree cannot
// have (for the checkpoint's size, or any: a shift of 64 bits or more) is
// 404, not some stored hash cached for good.
func TestHashTilesAtImpossibleLevels(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant")
	e.must(201, e.do("POST", "/registrations", bank.Token, filing("上海星辰精密机械有限公司", usccs[1])))
	if _, err := e.svc.PublishCheckpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{
		"/log/tile/0/000.p/1":  200,
		"/log/tile/1/000.p/1":  404,
		"/log/tile/2/000.p/1":  404,
		"/log/tile/7/000.p/1":  404,
		"/log/tile/8/000.p/1":  404,
		"/log/tile/9/000.p/1":  404,
		"/log/tile/63/000.p/1": 404,
		"/log/tile/8/000":      404,
		"/log/tile/8/x001/000": 404,
	} {
		r := e.do("GET", path, "", nil)
		if r.Status != want {
			t.Errorf("%s: %d, want %d", path, r.Status, want)
		}
		if want == 404 && strings.Contains(r.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s: a 404 cached for good", path)
		}
	}
}

// TestLogEntriesAnswerIsAtMost4MiB: /log/entries over registrations of a
// thousand items each ends, short of its 1,000 entries, at 4 MiB, with
// next_cursor the from of the rest; reading on from there gives every
// position once.
func TestLogEntriesAnswerIsAtMost4MiB(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant")
	auditor := e.newAccount(usccs[3], "auditor")
	items := make([]any, 1000)
	for i := range items {
		items[i] = map[string]any{"type": "equipment", "serial_number": fmt.Sprintf("SN-%04d", i), "description": strings.Repeat("数控机床", 20)}
	}
	var filings []any
	for i := range 16 {
		f := filing(fmt.Sprintf("上海星辰精密机械%d有限公司", i), usccs[1])
		f["collateral"].(map[string]any)["items"] = items
		filings = append(filings, f)
	}
	e.must(200, e.do("POST", "/registrations/batch", bank.Token, map[string]any{"filings": filings}))
	seen := map[float64]int{}
	pages := 0
	for path := "/log/entries"; path != ""; pages++ {
		if pages > 20 {
			t.Fatal("paging does not end")
		}
		r := e.do("GET", path, auditor.Token, nil)
		if len(r.Body) > httpapi.MaxListBytes {
			t.Fatalf("an answer of %d bytes", len(r.Body))
		}
		page := e.must(200, r)
		for _, it := range list(page["items"]) {
			seen[obj(it)["index"].(float64)]++
		}
		path = ""
		if next, ok := page["next_cursor"].(string); ok {
			path = "/log/entries?from=" + next
		}
	}
	if pages < 2 || len(seen) != 16 {
		t.Errorf("%d pages, %d positions", pages, len(seen))
	}
	for i := range 16 {
		if seen[float64(i)] != 1 {
			t.Errorf("position %d given %d times", i, seen[float64(i)])
		}
	}
}
