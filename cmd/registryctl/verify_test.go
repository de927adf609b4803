package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/registrytest"
	"github.com/movable-registry/registry/internal/translog"
)

const adminToken = registrytest.AdminToken

// register is a registry on a fresh database behind a real HTTP server,
// with a history of events of every common kind.
type register struct {
	t   testing.TB
	url string
	db  *sql.DB
	svc *registry.Service
	// restart makes a new service on the same database and key, as a
	// restarted registryd would be.
	restart func() *registry.Service
	// dbURL is its database; cfg its service's configuration (its key).
	dbURL   string
	cfg     registry.Config
	auditor string
	bank    string
	// numbers of the registrations filed, and a stored name search.
	regs   []string
	search string
}

func newRegister(t testing.TB) *register {
	t.Helper()
	r := openRegister(t)
	r.build()
	return r
}

// openRegister is a registry with nothing in it yet.
func openRegister(t testing.TB) *register {
	t.Helper()
	return openRegisterWith(t, func(*registry.Config) {})
}

// openRegisterWith is openRegister with the service's configuration changed.
func openRegisterWith(t testing.TB, configure func(*registry.Config)) *register {
	t.Helper()
	reg := registrytest.New(t, registrytest.Configure(configure))
	srv := reg.Serve(t)
	db, err := sql.Open("pgx", reg.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	restart := func() *registry.Service { return reg.Restart(t) }
	return &register{t: t, url: srv.URL, db: db, svc: reg.Service, restart: restart, dbURL: reg.URL, cfg: reg.Config}
}

func (r *register) call(method, path, token string, body any, want int) map[string]any {
	r.t.Helper()
	status, b, err := r.send(method, path, token, body)
	if err != nil {
		r.t.Fatal(err)
	}
	if status != want {
		r.t.Fatalf("%s %s: %d, want %d: %s", method, path, status, want, b)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// send makes one request and returns its status and body; it may be called
// from any goroutine.
func (r *register) send(method, path, token string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, r.url+"/api/v1"+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

var users atomic.Int64

func (r *register) user(uscc string, roles ...string) string {
	r.t.Helper()
	kind := "enterprise"
	for _, role := range roles {
		if role == "admin" || role == "auditor" {
			kind = "registry"
		}
	}
	org := r.call("POST", "/organizations", adminToken, map[string]any{"name": "机构 " + uscc, "uscc": uscc, "kind": kind}, 201)
	email := fmt.Sprintf("u%d-%d@example.cn", users.Add(1), time.Now().UnixNano())
	r.call("POST", "/users", adminToken, map[string]any{"organization_id": org["id"], "email": email, "display_name": "甲", "roles": roles, "password": "a long enough password"}, 201)
	return r.call("POST", "/tokens", "", map[string]any{"email": email, "password": "a long enough password"}, 201)["token"].(string)
}

func filing(name, uscc, serial string) map[string]any {
	return map[string]any{
		"kind":                "chattel_mortgage",
		"grantors":            []any{map[string]any{"type": "organization", "name": name, "uscc": uscc, "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"}},
		"secured_parties":     []any{map[string]any{"type": "organization", "name": "上海浦东发展银行股份有限公司张江科技支行", "uscc": "91310000132209458L", "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"}},
		"collateral":          map[string]any{"description": "数控加工中心十二台", "items": []any{map[string]any{"type": "equipment", "serial_number": serial}}},
		"period_months":       36,
		"agreed_with_grantor": true,
	}
}

// build files registrations, amends (a rename among them), extends, cancels,
// objects and withdraws, and searches by name.
func (r *register) build() {
	r.bank = r.user("91310000132209458L", "registrant", "searcher")
	grantor := r.user("91310115MA1K3YJ12G", "registrant")
	r.auditor = r.user("91310000MA1FL0XQ17", "auditor")
	for i, name := range []string{"上海星辰精密机械有限公司", "上海星辰（集团）精密机械有限公司", "北京华夏重工有限公司"} {
		r.regs = append(r.regs, r.call("POST", "/registrations", r.bank, filing(name, "91310115MA1K3YJ12G", fmt.Sprintf("SN-%d", i)), 201)["number"].(string))
	}
	r.call("POST", "/registrations/"+r.regs[0]+"/amendments", r.bank, map[string]any{"rename_grantors": []any{map[string]any{
		"from": map[string]any{"type": "organization", "name": "上海星辰精密机械有限公司", "uscc": "91310115MA1K3YJ12G", "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"},
		"to":   map[string]any{"type": "organization", "name": "上海星辰智能装备有限公司", "uscc": "91310115MA1K3YJ12G", "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"},
	}}}, 201)
	r.call("POST", "/registrations/"+r.regs[1]+"/extensions", r.bank, map[string]any{"period_months": 12}, 201)
	r.call("POST", "/registrations/"+r.regs[2]+"/cancellation", r.bank, map[string]any{"reason": "debt_repaid"}, 201)
	o := r.call("POST", "/registrations/"+r.regs[1]+"/objections", grantor, map[string]any{"statement": "我司从未设立此项担保。"}, 201)
	r.call("POST", "/registrations/"+r.regs[1]+"/objections/"+o["number"].(string)+"/withdrawal", grantor, nil, 201)
	r.search = r.call("POST", "/searches", r.bank, map[string]any{"criteria": map[string]any{"grantor_name": "上海星辰精密机械有限公司"}}, 201)["number"].(string)
	r.publish()
}

func (r *register) publish() {
	r.t.Helper()
	if _, err := r.svc.PublishCheckpoint(context.Background()); err != nil {
		r.t.Fatal(err)
	}
}

// registryctl runs the command and returns its exit status and output.
func (r *register) registryctl(state string, args ...string) (int, string) {
	r.t.Helper()
	var out, errs bytes.Buffer
	args = append(args, "-url", r.url, "-token", r.auditor, "-state", state)
	code := run(context.Background(), args, func(string) string { return "" }, &out, &errs)
	return code, out.String() + errs.String()
}

func (r *register) exec(statements ...string) {
	r.t.Helper()
	for _, s := range statements {
		if _, err := r.db.Exec(s); err != nil {
			r.t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestVerifyHonestRegister(t *testing.T) {
	t.Parallel()
	r := newRegister(t)
	state := filepath.Join(t.TempDir(), "state.json")
	code, out := r.registryctl(state, "verify")
	if code != 0 || !strings.Contains(out, "trusting the registry's verifier key on first use") || !strings.Contains(out, "3 registrations replayed") {
		t.Fatalf("verify: exit %d\n%s", code, out)
	}
	// Later, with more events: the new checkpoint must extend the pinned one.
	r.call("POST", "/registrations", r.bank, filing("上海新晨机械有限公司", "91310115MA1K3YJ12G", "SN-9"), 201)
	r.publish()
	code, out = r.registryctl(state, "verify")
	if code != 0 || !strings.Contains(out, "consistent with the checkpoint of 8 events") || strings.Contains(out, "first use") {
		t.Fatalf("second verify: exit %d\n%s", code, out)
	}
	code, out = r.registryctl(state, "verify-search", r.search)
	// The renamed grantor is found by its former name.
	if code != 0 || !strings.Contains(out, "1 result, 1 expected") {
		t.Fatalf("verify-search: exit %d\n%s", code, out)
	}
}

// TestVerifyEmptyRegister verifies a register with no events yet: the
// empty tree's root is signed and holds.
func TestVerifyEmptyRegister(t *testing.T) {
	t.Parallel()
	r := openRegister(t)
	r.bank = r.user("91310000132209458L", "registrant")
	r.auditor = r.user("91310000MA1FL0XQ17", "auditor")
	r.publish()
	if code, out := r.registryctl(filepath.Join(t.TempDir(), "state.json"), "verify"); code != 0 || !strings.Contains(out, "0 events") {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

// TestVerifyNamesTampering tampers with the database as an attacker with
// access to it would, triggers dropped first, and checks that verify names
// each change.
func TestVerifyNamesTampering(t *testing.T) {
	t.Parallel()
	dropTriggers := []string{"DROP TRIGGER events_append_only ON events", "DROP TRIGGER audit_entries_append_only ON audit_entries"}
	for _, tc := range []struct {
		name string
		sql  []string
		// want are phrases of the findings, each %d or %s filled from the register.
		want []string
	}{
		{"a name changed in an event", []string{
			`UPDATE events SET record = convert_to(replace(convert_from(record, 'UTF8'), '北京华夏重工', '北京华厦重工'), 'UTF8') WHERE log_index = 2`,
		}, []string{"log entry 2 (event {reg2}): its record does not hash to the leaf hash", "entries served hash to root"}},
		{"an event deleted", []string{
			`DELETE FROM events WHERE log_index = 4`,
		}, []string{"log entries 4 to 4 are missing", "which the log does not hold"}},
		{"two events reordered", []string{
			`UPDATE events SET log_index = -1 WHERE log_index = 3`,
			`UPDATE events SET log_index = 3 WHERE log_index = 5`,
			`UPDATE events SET log_index = 5 WHERE log_index = -1`,
		}, []string{"log entry 3 (event", "holds the record of log position 5", "not after the event before it"}},
		{"a time changed in the database", []string{
			`UPDATE events SET registered_at = registered_at - interval '1 day' WHERE log_index = 1`,
		}, []string{"log entry 1 (event {reg1}): the database dates it"}},
		{"a time changed in an event's record", []string{
			`UPDATE events SET record = convert_to(regexp_replace(convert_from(record, 'UTF8'), '"registered_at":"2\d\d\d', '"registered_at":"2001'), 'UTF8'), registered_at = registered_at - interval '25 years' WHERE log_index = 1`,
		}, []string{"log entry 1 (event {reg1}): its record does not hash", "registered at 2001", "entries served hash to root"}},
		{"an audit entry deleted", []string{
			`DELETE FROM audit_entries WHERE id = 5`,
		}, []string{"audit entries 5 to 5 are missing"}},
		{"an audit entry changed", []string{
			`UPDATE audit_entries SET source = '10.9.9.9' WHERE id = 7`,
		}, []string{"audit entry 7 (", "does not match its chain value"}},
		{"the audit entry of a filing deleted", []string{
			`DELETE FROM audit_entries WHERE detail = 'initial {reg0}'`,
		}, []string{"are missing", "log entry 0 (event {reg0}): no audit entry records it"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRegister(t)
			state := filepath.Join(t.TempDir(), "state.json")
			if code, out := r.registryctl(state, "verify"); code != 0 {
				t.Fatalf("before tampering: exit %d\n%s", code, out)
			}
			r.exec(dropTriggers...)
			for _, s := range tc.sql {
				r.exec(r.fill(s))
			}
			code, out := r.registryctl(state, "verify")
			t.Logf("after %s:\n%s", tc.name, out)
			if code != 1 || !strings.Contains(out, "FAILED") {
				t.Errorf("exit %d, want 1\n%s", code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, r.fill(w)) {
					t.Errorf("no finding says %q:\n%s", r.fill(w), out)
				}
			}
		})
	}
}

func (r *register) fill(s string) string {
	for i, n := range r.regs {
		s = strings.ReplaceAll(s, fmt.Sprintf("{reg%d}", i), n)
	}
	return s
}

// TestVerifyRefusesAForeignCheckpoint checks that a checkpoint signed with
// another key than the pinned one, or a log that shrank, is reported.
func TestVerifyRefusesAForeignCheckpoint(t *testing.T) {
	t.Parallel()
	r := newRegister(t)
	state := filepath.Join(t.TempDir(), "state.json")
	if code, out := r.registryctl(state, "verify"); code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	signer, _, err := translog.NewSigner("test.registry/log")
	if err != nil {
		t.Fatal(err)
	}
	forged, err := translog.Sign(translog.Checkpoint{Origin: "test.registry/log", Size: 99}, signer)
	if err != nil {
		t.Fatal(err)
	}
	r.exec("DROP TRIGGER checkpoints_append_only ON checkpoints")
	if _, err := r.db.Exec("INSERT INTO checkpoints (size, note, signed_at) VALUES (99, $1, now())", forged); err != nil {
		t.Fatal(err)
	}
	code, out := r.registryctl(state, "verify")
	if code != 1 || !strings.Contains(out, "the checkpoint does not verify with key") {
		t.Errorf("exit %d\n%s", code, out)
	}
}

// TestVerifySearchFindsAMissedRegistration removes a registration from the
// search index, searches, and checks that verify-search names what the
// search missed.
func TestVerifySearchFindsAMissedRegistration(t *testing.T) {
	t.Parallel()
	r := newRegister(t)
	state := filepath.Join(t.TempDir(), "state.json")
	r.exec(r.fill(`DELETE FROM parties WHERE registration_number = '{reg1}' AND role = 'grantor'`))
	number := r.call("POST", "/searches", r.bank, map[string]any{"criteria": map[string]any{"uscc": "91310115MA1K3YJ12G"}}, 201)["number"].(string)
	r.publish()
	code, out := r.registryctl(state, "verify-search", number)
	if code != 1 || !strings.Contains(out, r.fill("registration {reg1} should have been found (matched by uscc) and was not")) {
		t.Errorf("exit %d\n%s", code, out)
	}
	// The honest search made before the index was damaged still verifies.
	if code, out := r.registryctl(state, "verify-search", r.search); code != 0 {
		t.Errorf("the earlier search: exit %d\n%s", code, out)
	}
}

// TestVerifyCatchesARewrittenTree rewrites an event and recomputes the whole
// tree in the database, as an attacker who knows the log's design would:
// every leaf then matches its record, but the signed root does not; the
// registry refuses to sign the forged tree; and when the attacker deletes
// the checkpoints and restarts the registry so that it signs one, verify
// finds that it does not extend the checkpoint it verified before.
func TestVerifyCatchesARewrittenTree(t *testing.T) {
	t.Parallel()
	r := newRegister(t)
	state := filepath.Join(t.TempDir(), "state.json")
	if code, out := r.registryctl(state, "verify"); code != 0 {
		t.Fatalf("before tampering: exit %d\n%s", code, out)
	}
	r.exec("DROP TRIGGER events_append_only ON events", "DROP TRIGGER log_hashes_append_only ON log_hashes",
		"DROP TRIGGER checkpoints_append_only ON checkpoints",
		`UPDATE events SET record = convert_to(replace(convert_from(record, 'UTF8'), '北京华夏重工', '北京华厦重工'), 'UTF8') WHERE log_index = 2`)
	r.rebuildTree()

	code, out := r.registryctl(state, "verify")
	// (The running registry may still serve the leaf hashes it wrote, which
	// it keeps in memory, in its hash tiles: the changed leaf may be named
	// too.)
	if code != 1 || !strings.Contains(out, "entries served hash to root") {
		t.Errorf("after the tree was rebuilt: exit %d\n%s", code, out)
	}

	r.call("POST", "/registrations", r.bank, filing("上海新晨机械有限公司", "91310115MA1K3YJ12G", "SN-9"), 201)
	r.rebuildTree()
	// (The running registry computes roots from the hashes it wrote itself,
	// which it keeps in memory; a restarted one reads the database.)
	if _, err := r.restart().PublishCheckpoint(context.Background()); !errors.Is(err, registry.ErrLogInconsistent) {
		t.Errorf("a restarted registry signed a checkpoint over the rewritten log: %v", err)
	}

	r.exec("DELETE FROM checkpoints")
	if _, err := r.restart().PublishCheckpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	code, out = r.registryctl(state, "verify")
	if code != 1 || !strings.Contains(out, "does not extend the one of 8 verified") {
		t.Errorf("after the registry signed the rewritten log: exit %d\n%s", code, out)
	}
}

// rebuildTree recomputes every stored hash of the log from the events as
// they now are.
func (r *register) rebuildTree() {
	r.t.Helper()
	rows, err := r.db.Query("SELECT COALESCE(log_record, record) FROM events ORDER BY log_index")
	if err != nil {
		r.t.Fatal(err)
	}
	tree := &translog.MemoryTree{}
	for n := int64(0); rows.Next(); n++ {
		var rec []byte
		if err := rows.Scan(&rec); err != nil {
			r.t.Fatal(err)
		}
		if err := tree.Append(n, rec); err != nil {
			r.t.Fatal(err)
		}
	}
	rows.Close()
	r.exec("DELETE FROM log_hashes")
	for i, h := range tree.Hashes() {
		if _, err := r.db.Exec("INSERT INTO log_hashes (id, hash) VALUES ($1, $2)", i, h[:]); err != nil {
			r.t.Fatal(err)
		}
	}
}

// TestVerifyAfterConcurrentWrites files, searches and is refused from many
// clients at once, then verifies: ids without gaps and a log in commit order
// hold under contention too.
func TestVerifyAfterConcurrentWrites(t *testing.T) {
	t.Parallel()
	r := newRegister(t)
	var wg sync.WaitGroup
	for c := range 8 {
		wg.Go(func() {
			for i := range 10 {
				for _, req := range []struct {
					method, path, token string
					body                any
					want                int
				}{
					{"POST", "/registrations", r.bank, filing(fmt.Sprintf("并发机械%d-%d有限公司", c, i), "91310115MA1K3YJ12G", fmt.Sprintf("C-%d-%d", c, i)), 201},
					{"POST", "/searches", r.bank, map[string]any{"criteria": map[string]any{"serial_number": fmt.Sprintf("C-%d-%d", c, i)}}, 201},
					{"GET", "/me", "rgt_not-a-token", nil, 401},
				} {
					if status, b, err := r.send(req.method, req.path, req.token, req.body); err != nil || status != req.want {
						t.Errorf("%s %s: %d, %v: %s", req.method, req.path, status, err, b)
					}
				}
			}
		})
	}
	wg.Wait()
	r.publish()
	if code, out := r.registryctl(filepath.Join(t.TempDir(), "state.json"), "verify"); code != 0 || !strings.Contains(out, "83 registrations replayed") {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

// TestVerifyCheckpointAsABank watches the checkpoint with a bank's token (no
// access to the entries): it passes while the log grows honestly and fails
// once the log it saw has been rewritten.
func TestVerifyCheckpointAsABank(t *testing.T) {
	t.Parallel()
	r := newRegister(t)
	state := filepath.Join(t.TempDir(), "bank.json")
	asBank := func(cmd string) (int, string) {
		var out, errs bytes.Buffer
		code := run(context.Background(), []string{cmd, "-url", r.url, "-token", r.bank, "-state", state}, func(string) string { return "" }, &out, &errs)
		return code, out.String() + errs.String()
	}
	bank := func() (int, string) { return asBank("verify-checkpoint") }
	if code, out := bank(); code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	// The whole verification needs an auditor: it cannot be made (2), which is not a finding (1).
	if code, out := asBank("verify"); code != 2 || !strings.Contains(out, "403 Forbidden") {
		t.Errorf("verify with a bank's token: exit %d\n%s", code, out)
	}
	r.call("POST", "/registrations", r.bank, filing("上海新晨机械有限公司", "91310115MA1K3YJ12G", "SN-9"), 201)
	r.publish()
	if code, out := bank(); code != 0 || !strings.Contains(out, "consistent with the checkpoint of 8 events") {
		t.Fatalf("after a new event: exit %d\n%s", code, out)
	}
	r.exec("DROP TRIGGER events_append_only ON events", "DROP TRIGGER log_hashes_append_only ON log_hashes", "DROP TRIGGER checkpoints_append_only ON checkpoints",
		`UPDATE events SET record = convert_to(replace(convert_from(record, 'UTF8'), '北京华夏重工', '北京华厦重工'), 'UTF8') WHERE log_index = 2`)
	r.rebuildTree()
	r.call("POST", "/registrations", r.bank, filing("上海新晨机械有限公司", "91310115MA1K3YJ12G", "SN-10"), 201)
	r.rebuildTree()
	r.exec("DELETE FROM checkpoints")
	if _, err := r.restart().PublishCheckpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, out := bank(); code != 1 || !strings.Contains(out, "does not extend the one of 9 verified") {
		t.Errorf("after the log was rewritten: exit %d\n%s", code, out)
	}
}

// A truncated search is verified whole: verify-search reads its further
// pages and checks every result against the log.
func TestVerifySearchReadsEveryPage(t *testing.T) {
	t.Parallel()
	r := openRegisterWith(t, func(c *registry.Config) { c.MaxResults = 3 })
	bank := r.user("91310000132209458L", "registrant", "searcher")
	auditor := r.user("91310000MA1FL0XQ17", "auditor")
	for i := range 8 {
		r.call("POST", "/registrations", bank, filing("上海星辰精密机械有限公司", "91310115MA1K3YJ12G", fmt.Sprintf("SN-%d", i)), 201)
	}
	s := r.call("POST", "/searches", bank, map[string]any{"criteria": map[string]any{"uscc": "91310115MA1K3YJ12G"}}, 201)
	if s["truncated"] != true || s["result_count"] != 8.0 {
		t.Fatalf("the search: %v", s)
	}
	r.auditor, r.bank = auditor, bank
	r.publish()
	state := filepath.Join(t.TempDir(), "state.json")
	code, out := r.registryctl(state, "verify-search", s["number"].(string))
	if code != 0 || !strings.Contains(out, "8 results, 8 expected from the log") {
		t.Errorf("exit %d\n%s", code, out)
	}
}

// TestVerifyAfterErasure: once the registry erased the personal data of
// registrations ended 15 years before (retention.years_after_end), verify
// still passes: the leaves are as they were, and the verifier replays the
// erased events as the registry serves them. verify-search by the erased
// identity number expects nothing, as the registry finds nothing.
func TestVerifyAfterErasure(t *testing.T) {
	t.Parallel()
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	reg := registrytest.New(t, registrytest.Clock(now), registrytest.Configure(func(c *registry.Config) { c.TokenTTL = 100 * 365 * 24 * time.Hour }))
	srv := reg.Serve(t)
	db, err := sql.Open("pgx", reg.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r := &register{t: t, url: srv.URL, db: db, svc: reg.Service, dbURL: reg.URL, cfg: reg.Config}
	r.build()
	const id = "11010519491231002X"
	withPerson := func(serial string) map[string]any {
		f := filing("上海星辰精密机械有限公司", "91310115MA1K3YJ12G", serial)
		f["grantors"] = append(f["grantors"].([]any), map[string]any{"type": "individual", "name": "李四海", "id_number": id, "address": "北京市朝阳区建国路1号"})
		return f
	}
	erased := r.call("POST", "/registrations", r.bank, withPerson("SN-E1"), 201)["number"].(string)
	r.call("POST", "/registrations/"+erased+"/amendments", r.bank, map[string]any{"add_grantors": []any{
		map[string]any{"type": "individual", "name": "王小梅", "id_number": "11010119900307803X", "address": "上海市徐汇区漕溪北路2号"}}}, 201)
	r.call("POST", "/registrations/"+erased+"/cancellation", r.bank, map[string]any{"reason": "debt_repaid"}, 201)
	kept := r.call("POST", "/registrations", r.bank, withPerson("SN-E2"), 201)["number"].(string)
	offset.Add(int64(16 * 365 * 24 * time.Hour))
	if n, err := r.svc.ErasePersonalData(context.Background()); err != nil || n != 2 {
		// The two cancelled 16 years ago; the others expired after 3 or 4
		// years, under 15 years ago.
		t.Fatalf("erased %d, %v", n, err)
	}
	r.publish()
	state := filepath.Join(t.TempDir(), "state.json")
	code, out := r.registryctl(state, "verify")
	if code != 0 || strings.Contains(out, "FINDING") {
		t.Fatalf("verify after the erasure: exit %d\n%s", code, out)
	}
	search := r.call("POST", "/searches", r.bank, map[string]any{"criteria": map[string]any{"id_number": id}, "include_inactive": true}, 201)
	if results := search["results"].([]any); len(results) != 1 || results[0].(map[string]any)["registration"].(map[string]any)["number"] != kept {
		t.Fatalf("the search by identity number: %v", results)
	}
	if code, out := r.registryctl(state, "verify-search", search["number"].(string)); code != 0 || !strings.Contains(out, "1 result, 1 expected") {
		t.Fatalf("verify-search: exit %d\n%s", code, out)
	}
}
