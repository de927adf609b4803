package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/httpapi"
	"github.com/movable-registry/registry/internal/translog"
)

// logEntries reads every entry of the log in pages.
func (e *env) logEntries(token string) []map[string]any {
	e.t.Helper()
	var out []map[string]any
	for from := "0"; from != ""; {
		page := e.must(200, e.do("GET", "/log/entries?from="+from, token, nil))
		for _, it := range list(page["items"]) {
			out = append(out, it.(map[string]any))
		}
		from, _ = page["next_cursor"].(string)
	}
	return out
}

func b64(t *testing.T, v any) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(v.(string))
	if err != nil {
		t.Fatalf("%v is not base64: %v", v, err)
	}
	return b
}

func hashOf(t *testing.T, v any) tlog.Hash {
	t.Helper()
	var h tlog.Hash
	if copy(h[:], b64(t, v)) != len(h) {
		t.Fatalf("%v is not a hash", v)
	}
	return h
}

// TestLogProofs files events, then checks every inclusion proof and every
// consistency proof for every size of the log with tlog's own verifiers,
// against roots computed here from the records.
func TestLogProofs(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, longLived)
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	auditor := e.newUser(e.must(201, e.do("POST", "/organizations", adminToken, map[string]any{"name": "登记机构", "uscc": usccs[3], "kind": "registry"}))["id"].(string), usccs[3], "auditor")

	var numbers []string
	for i := range 9 {
		r := e.must(201, e.do("POST", "/registrations", bank.Token, filing(fmt.Sprintf("上海星辰精密机械%d有限公司", i), usccs[1])))
		if int(r["log_index"].(float64)) != 2*i {
			t.Errorf("registration %d answered log_index %v", i, r["log_index"])
		}
		a := e.must(201, e.do("POST", "/registrations/"+r["number"].(string)+"/amendments", bank.Token, map[string]any{"description": "另有备件一批"}))
		numbers = append(numbers, r["number"].(string))
		if int(a["log_index"].(float64)) != 2*i+1 {
			t.Errorf("amendment %d answered log_index %v", i, a["log_index"])
		}
	}
	s := e.must(201, e.do("POST", "/searches", bank.Token, map[string]any{"criteria": map[string]any{"uscc": usccs[1]}}))
	if s["register_position"] != float64(18) {
		t.Errorf("search register_position %v, want 18", s["register_position"])
	}

	// The checkpoint: published on first request, signed by the key /log/key serves.
	key := e.do("GET", "/log/key", "", nil)
	if key.Status != 200 || strings.TrimSpace(string(key.Body)) != e.verifierKey {
		t.Fatalf("/log/key: %s", key)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(key.Body)))
	if err != nil {
		t.Fatal(err)
	}
	cpr := e.do("GET", "/log/checkpoint", bank.Token, nil)
	if cpr.Status != 200 || !strings.HasPrefix(cpr.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/log/checkpoint: %s", cpr)
	}
	cp, err := translog.Open(cpr.Body, v)
	if err != nil {
		t.Fatalf("checkpoint does not verify: %v\n%s", err, cpr.Body)
	}
	lines := strings.Split(string(cpr.Body), "\n")
	if cp.Origin != "test.registry/log" || cp.Size != 18 || !strings.HasPrefix(lines[3], "audit ") || lines[4] != "" || !strings.HasPrefix(lines[5], "— test.registry/log ") {
		t.Errorf("checkpoint %+v:\n%s", cp, cpr.Body)
	}

	entries := e.logEntries(auditor.Token)
	if len(entries) != 18 {
		t.Fatalf("%d entries, want 18", len(entries))
	}
	// The tree computed here from the records alone, to check the proofs against.
	m := &translog.MemoryTree{}
	roots := []tlog.Hash{{}}
	records := make([][]byte, len(entries))
	for i, it := range entries {
		rec := b64(t, it["record"])
		records[i] = rec
		if it["index"] != float64(i) || hashOf(t, it["leaf_hash"]) != tlog.RecordHash(rec) {
			t.Errorf("entry %d: index %v, leaf hash %v", i, it["index"], it["leaf_hash"])
		}
		var ev map[string]any
		if err := json.Unmarshal(rec, &ev); err != nil || ev["log_index"] != float64(i) {
			t.Errorf("entry %d: record %s", i, rec)
		}
		if got, _ := json.Marshal(it["event"]); !bytes.Equal(canonicalJSON(t, got), canonicalJSON(t, rec)) {
			t.Errorf("entry %d: event %s is not the record decoded", i, got)
		}
		if want := numbers[i/2]; i%2 == 0 && (ev["number"] != want || it["indexed"].(map[string]any)["number"] != want) {
			t.Errorf("entry %d: number %v, want %s", i, ev["number"], want)
		}
		if err := m.Append(int64(i), rec); err != nil {
			t.Fatal(err)
		}
		root, err := m.Root(int64(i + 1))
		if err != nil {
			t.Fatal(err)
		}
		roots = append(roots, root)
	}
	if cp.Root != roots[18] {
		t.Fatalf("checkpoint root %v, the records' root %v", cp.Root, roots[18])
	}

	for size := int64(1); size <= 18; size++ {
		for i := int64(0); i < size; i++ {
			p := e.must(200, e.do("GET", fmt.Sprintf("/log/proof/inclusion?index=%d&size=%d", i, size), bank.Token, nil))
			var proof tlog.RecordProof
			for _, h := range list(p["proof"]) {
				proof = append(proof, hashOf(t, h))
			}
			if err := tlog.CheckRecord(proof, size, roots[size], i, tlog.RecordHash(records[i])); err != nil {
				t.Errorf("inclusion of %d in %d: %v", i, size, err)
			}
			if hashOf(t, p["root_hash"]) != roots[size] || hashOf(t, p["leaf_hash"]) != tlog.RecordHash(records[i]) {
				t.Errorf("inclusion of %d in %d: roots or leaf differ", i, size)
			}
		}
		for from := int64(1); from <= size; from++ {
			p := e.must(200, e.do("GET", fmt.Sprintf("/log/proof/consistency?from=%d&to=%d", from, size), bank.Token, nil))
			var proof tlog.TreeProof
			for _, h := range list(p["proof"]) {
				proof = append(proof, hashOf(t, h))
			}
			if err := tlog.CheckTree(proof, size, roots[size], from, roots[from]); err != nil {
				t.Errorf("consistency of %d with %d: %v", from, size, err)
			}
		}
	}
	// Without size, a proof is against the latest checkpoint.
	if p := e.must(200, e.do("GET", "/log/proof/inclusion?index=3", bank.Token, nil)); p["size"] != float64(18) {
		t.Errorf("default size %v", p["size"])
	}

	t.Run("bad positions are refused by field", func(t *testing.T) {
		for _, tc := range []struct{ path, field string }{
			{"/log/proof/inclusion?index=18&size=18", "index"},
			{"/log/proof/inclusion?index=0&size=19", "size"},
			{"/log/proof/inclusion?size=3", "index"},
			{"/log/proof/inclusion?index=-1", "index"},
			{"/log/proof/inclusion?index=1e3", "index"},
			{"/log/proof/consistency?from=0&to=5", "from"},
			{"/log/proof/consistency?from=6&to=5", "from"},
			{"/log/proof/consistency?from=1&to=99", "to"},
			{"/log/entries?from=5&to=4", "to"},
			{"/log/entries?from=x", "from"},
		} {
			token := bank.Token
			if strings.HasPrefix(tc.path, "/log/entries") {
				token = auditor.Token
			}
			p := e.problem(e.do("GET", tc.path, token, nil), 422, "invalid_field")
			if got := fieldErrors(p); len(got) != 1 || !strings.HasPrefix(got[0], tc.field+" ") {
				t.Errorf("%s: errors %v, want one for %s", tc.path, got, tc.field)
			}
		}
	})

	t.Run("a page of entries ends where asked", func(t *testing.T) {
		p := e.must(200, e.do("GET", "/log/entries?from=4&to=7", auditor.Token, nil))
		if items := list(p["items"]); len(items) != 3 || items[0].(map[string]any)["index"] != float64(4) || p["next_cursor"] != nil {
			t.Errorf("entries 4..7: %v", p)
		}
	})

	t.Run("a new checkpoint extends the last", func(t *testing.T) {
		e.must(201, e.do("POST", "/registrations", bank.Token, filing("上海新晨机械有限公司", usccs[1])))
		cp2, err := e.svc.PublishCheckpoint(t.Context())
		if err != nil || cp2.Size != 19 {
			t.Fatalf("published %+v, %v", cp2, err)
		}
		got, err := translog.Open(e.do("GET", "/log/checkpoint", bank.Token, nil).Body, v)
		if err != nil || got.Size != 19 {
			t.Fatalf("checkpoint %+v, %v", got, err)
		}
		p := e.must(200, e.do("GET", "/log/proof/consistency?from=18", bank.Token, nil))
		var proof tlog.TreeProof
		for _, h := range list(p["proof"]) {
			proof = append(proof, hashOf(t, h))
		}
		if err := tlog.CheckTree(proof, got.Size, got.Root, cp.Size, cp.Root); err != nil {
			t.Errorf("the new checkpoint does not extend the old: %v", err)
		}
	})
}

func canonicalJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return out
}

// TestHistoryIsAppendOnly tries, with the database's own access, what no
// code of the registry should ever do: each is refused by the database.
func TestHistoryIsAppendOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	e.must(201, e.do("POST", "/registrations", bank.Token, filing("上海星辰精密机械有限公司", usccs[1])))
	e.must(201, e.do("POST", "/searches", bank.Token, map[string]any{"criteria": map[string]any{"uscc": usccs[1]}}))
	if _, err := e.svc.PublishCheckpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		"UPDATE events SET type = 'amendment'",
		"DELETE FROM events",
		"TRUNCATE events CASCADE",
		"UPDATE audit_entries SET outcome = 'denied'",
		"DELETE FROM audit_entries",
		"TRUNCATE audit_entries",
		"UPDATE log_hashes SET hash = sha256(hash)",
		"DELETE FROM log_hashes",
		"UPDATE searches SET result_count = 0",
		"DELETE FROM searches",
		"DELETE FROM checkpoints",
		"TRUNCATE checkpoints",
	} {
		if _, err := e.db.Exec(stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v", stmt, err)
		}
	}
	if n := e.count("SELECT count(*) FROM events"); n != 1 {
		t.Errorf("%d events", n)
	}
}

// TestAuditTrail reads the trail with each filter, pages through it, and
// checks that its ids have no gaps and its chain holds.
func TestAuditTrail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	other := e.newAccount(usccs[2], "registrant")
	staff := e.must(201, e.do("POST", "/organizations", adminToken, map[string]any{"name": "登记机构", "uscc": usccs[3], "kind": "registry"}))
	auditor := e.newUser(staff["id"].(string), usccs[3], "auditor")
	start := e.clock.Now()
	reg := e.must(201, e.do("POST", "/registrations", bank.Token, filing("上海星辰精密机械有限公司", usccs[1])))["number"].(string)
	e.must(201, e.do("POST", "/registrations/"+reg+"/amendments", bank.Token, map[string]any{"description": "补充"}))
	e.problem(e.do("POST", "/registrations/"+reg+"/cancellation", other.Token, map[string]any{"reason": "debt_repaid"}), 403, "forbidden")
	e.problem(e.do("GET", "/me", "rgt_nonsense", nil), 401, "unauthenticated")
	// A path with a NUL and bytes that are no UTF-8 is still on record.
	if r := e.do("GET", "/registrations/%00%ff", "", nil); r.Status != 401 {
		t.Fatalf("GET with a NUL: %s", r)
	}
	if n := e.count("SELECT count(*) FROM audit_entries WHERE target = E'\\uFFFD\\uFFFD'"); n != 1 {
		t.Errorf("%d audit entries for the request with a NUL in its path", n)
	}

	all := e.auditPages(auditor.Token, "", 4)
	if len(all) < 10 {
		t.Fatalf("%d entries", len(all))
	}
	prev := []byte(nil)
	for i := len(all) - 1; i >= 0; i-- {
		a := all[i]
		id := int64(a["id"].(float64))
		if i < len(all)-1 && id != int64(all[i+1]["id"].(float64))+1 {
			t.Fatalf("ids jump from %v to %v", all[i+1]["id"], id)
		}
		actor := a["actor"].(map[string]any)
		entry := audit.Entry{At: ts(t, a["at"]), Actor: audit.ActorKind(actor["kind"].(string)), UserID: str(actor["user_id"]), OrganizationID: str(actor["organization_id"]),
			Action: a["action"].(string), Target: a["target"].(string), Outcome: audit.Outcome(a["outcome"].(string)), Source: a["source"].(string), RequestID: a["request_id"].(string), Detail: str(a["detail"])}
		if prev == nil {
			prev = audit.ChainStart
			if id != 1 {
				t.Fatalf("the first entry is %d", id)
			}
		}
		want := audit.Chain(prev, id, entry)
		if !bytes.Equal(b64(t, a["chain"]), want) {
			t.Fatalf("entry %d: chain does not follow: %v", id, a)
		}
		prev = want
	}

	for _, tc := range []struct {
		name, query string
		check       func(map[string]any) bool
		atLeast     int
	}{
		{"by action", "action=registration.amend", func(a map[string]any) bool { return a["action"] == "registration.amend" }, 1},
		{"by target", "target=" + reg, func(a map[string]any) bool { return a["target"] == reg }, 3},
		{"by outcome", "outcome=denied", func(a map[string]any) bool { return a["outcome"] == "denied" }, 2},
		{"by user", "actor=" + bank.UserID, func(a map[string]any) bool { return a["actor"].(map[string]any)["user_id"] == bank.UserID }, 2},
		{"by actor kind", "actor=anonymous", func(a map[string]any) bool { return a["actor"].(map[string]any)["kind"] == "anonymous" }, 1},
		{"by organization", "organization=" + other.OrgID, func(a map[string]any) bool {
			return a["actor"].(map[string]any)["organization_id"] == other.OrgID
		}, 1},
		{"by time", "from=" + start.UTC().Format(time.RFC3339Nano) + "&to=" + e.clock.Now().Add(time.Second).UTC().Format(time.RFC3339Nano), func(a map[string]any) bool {
			return !ts(t, a["at"]).Before(start.Truncate(time.Microsecond))
		}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := e.auditPages(auditor.Token, tc.query, 2)
			if len(got) < tc.atLeast {
				t.Errorf("%d entries, want at least %d", len(got), tc.atLeast)
			}
			for _, a := range got {
				if !tc.check(a) {
					t.Errorf("entry does not match %s: %v", tc.query, a)
				}
			}
		})
	}

	t.Run("bad filters are named", func(t *testing.T) {
		for q, field := range map[string]string{
			"actor=someone":       "actor",
			"organization=bank":   "organization",
			"outcome=maybe":       "outcome",
			"from=yesterday":      "from",
			"to=2026-13-01":       "to",
			"cursor=!!":           "cursor",
			"limit=0":             "limit",
			"cursor=" + cursor(0): "cursor",
		} {
			p := e.problem(e.do("GET", "/audit?"+q, auditor.Token, nil), 422, "invalid_field")
			if got := fieldErrors(p); len(got) != 1 || !strings.HasPrefix(got[0], field+" ") {
				t.Errorf("%s: %v", q, got)
			}
			if field == "cursor" || field == "limit" {
				continue // the export is not paged
			}
			p = e.problem(e.do("GET", "/audit/export?"+q, auditor.Token, nil), 422, "invalid_field")
			if got := fieldErrors(p); len(got) != 1 || !strings.HasPrefix(got[0], field+" ") {
				t.Errorf("export %s: %v", q, got)
			}
		}
	})

	t.Run("the export is the same trail as CSV and records itself", func(t *testing.T) {
		r := e.do("GET", "/audit/export", auditor.Token, nil)
		if r.Status != 200 || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
			t.Fatalf("export: %d %s", r.Status, r.Header)
		}
		rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(rows[0], ",") != "id,at,actor,user_id,organization_id,action,target,outcome,source,request_id,detail,chain" {
			t.Errorf("header %v", rows[0])
		}
		if rows[1][5] != "audit.export" || rows[1][3] != auditor.UserID {
			t.Errorf("the newest row is not the export itself: %v", rows[1])
		}
		now := e.auditPages(auditor.Token, "", 500)
		if len(rows)-1 != len(now) {
			t.Fatalf("%d rows, %d entries", len(rows)-1, len(now))
		}
		for i, a := range now {
			if rows[i+1][0] != strconv.Itoa(int(a["id"].(float64))) || rows[i+1][11] != a["chain"] {
				t.Errorf("row %d %v, entry %v", i, rows[i+1], a)
			}
		}
	})
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func cursor(n int) string { return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(n))) }

// auditPages reads the whole trail a filter selects, limit entries a page,
// checking that pages neither overlap nor skip.
func (e *env) auditPages(token, query string, limit int) []map[string]any {
	e.t.Helper()
	var out []map[string]any
	next := ""
	for {
		q := fmt.Sprintf("/audit?limit=%d&%s", limit, query)
		if next != "" {
			q += "&cursor=" + next
		}
		page := e.must(200, e.do("GET", q, token, nil))
		items := list(page["items"])
		for _, it := range items {
			a := it.(map[string]any)
			if n := len(out); n > 0 && a["id"].(float64) >= out[n-1]["id"].(float64) {
				e.t.Fatalf("page out of order: %v after %v", a["id"], out[n-1]["id"])
			}
			out = append(out, a)
		}
		next, _ = page["next_cursor"].(string)
		if next == "" {
			return out
		}
		if len(items) != limit {
			e.t.Fatalf("a page of %d with a next cursor", len(items))
		}
	}
}

// TestAuditExportMemory exports 100,000 entries and checks that the heap
// does not grow with them (the rows stream from the database to the client)
// and that a long export outlives the server's write timeout.
func TestAuditExportMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 100,000 audit entries")
	}
	e := newEnv(t)
	// Collect garbage early, so that the heap measures what is held, not
	// what other tests' load left for the collector.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	const n = 100_000
	_, err := e.db.Exec(`INSERT INTO audit_entries (id, at, actor, action, target, outcome, source, request_id, detail)
		SELECT head.seq + g, now(), 'anonymous', 'registration.read', 'R' || g, 'denied', '192.0.2.1', 'req-' || g, repeat('x', 100)
		FROM audit_head head, generate_series(1, $1) g`, n)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec("UPDATE audit_head SET seq = seq + $1", n); err != nil {
		t.Fatal(err)
	}
	// A write timeout far shorter than the export: each batch sent must
	// extend it, or the export is cut off.
	srv := httptest.NewUnstartedServer(e.h)
	srv.Config.WriteTimeout = 250 * time.Millisecond
	srv.Start()
	defer srv.Close()

	export := func() (rows int64, bytes int64, peak uint64) {
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		var top atomic.Uint64
		done := make(chan struct{})
		go func() {
			var m runtime.MemStats
			for {
				select {
				case <-done:
					return
				case <-time.After(2 * time.Millisecond):
				}
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > top.Load() {
					top.Store(m.HeapAlloc)
				}
			}
		}()
		req, _ := http.NewRequest("GET", srv.URL+httpapi.BasePath+"/audit/export", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		c := &lineCounter{}
		if _, err := io.Copy(c, resp.Body); err != nil {
			t.Fatal(err)
		}
		close(done)
		if top.Load() < base.HeapAlloc {
			return c.lines, c.bytes, 0
		}
		return c.lines, c.bytes, top.Load() - base.HeapAlloc
	}
	rows, size, grew := export()
	// Other tests' envs allocate in this process meanwhile (their
	// followers, their collectors), and a starved collector lets the heap
	// run ahead: the smallest of three exports is this one's own.
	for range 2 {
		if _, _, again := export(); again < grew {
			grew = again
		}
	}
	if rows < n+1 {
		t.Fatalf("%d rows", rows)
	}
	t.Logf("exported %d rows, %.1f MB; the heap grew by at most %.1f MB", rows, float64(size)/1e6, float64(grew)/1e6)
	// Alone it grows by about 2 MB; one that held the export would grow by
	// more than all of it.
	if size < 15_000_000 || grew > uint64(size)/2 {
		t.Errorf("the heap grew by %d bytes while %d bytes streamed", grew, size)
	}
}

type lineCounter struct{ lines, bytes int64 }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.lines += int64(bytes.Count(p, []byte("\n")))
	c.bytes += int64(len(p))
	return len(p), nil
}
