package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	notepkg "golang.org/x/mod/sumdb/note"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/translog"
	"github.com/movable-registry/registry/internal/witness"
)

// witnessed is a register whose checkpoints a witness on loopback cosigns.
type witnessed struct {
	*register
	w     *witness.Witness
	wvkey string
	mu    sync.Mutex
	fails []error
}

func newWitnessed(t *testing.T) *witnessed {
	t.Helper()
	wt := &witnessed{}
	skey, vkey, err := translog.GenerateWitnessKey("witness.bank.example", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, _, err := translog.WitnessSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	wt.wvkey = vkey
	wt.register = openRegisterWith(t, func(c *registry.Config) {
		log, err := witness.ParseLog(c.LogVerifierKey)
		if err != nil {
			t.Fatal(err)
		}
		if wt.w, err = witness.New(signer, []witness.Log{log}, filepath.Join(t.TempDir(), "witness.json"), nil); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(wt.w)
		t.Cleanup(srv.Close)
		client, err := witness.NewClient(vkey, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Witnesses = []registry.Witness{client}
		c.OnWitness = func(_ string, err error) {
			wt.mu.Lock()
			defer wt.mu.Unlock()
			if err != nil {
				wt.fails = append(wt.fails, err)
			}
		}
	})
	wt.build()
	return wt
}

// TestWitnessCosignsAndRefusesASplitView: the registry's checkpoints carry
// the witness's cosignature, and verify counts it. Then the log is forked:
// an event rewritten, the tree rebuilt to the same size, the checkpoints
// deleted and the registry restarted, so that it signs a second checkpoint
// of that size. The witness refuses it, and a verifier that never saw the
// first, requiring the witness, reports the checkpoint it is shown.
func TestWitnessCosignsAndRefusesASplitView(t *testing.T) {
	t.Parallel()
	r := newWitnessed(t)
	state := filepath.Join(t.TempDir(), "state.json")
	code, out := r.registryctl(state, "verify", "-witness", r.wvkey)
	if code != 0 || !strings.Contains(out, "cosigned by 1 witness (witness.bank.example); 1 required") {
		t.Fatalf("an honest, witnessed register: exit %d\n%s", code, out)
	}
	// A quorum of two, of which one never cosigned.
	_, other, _ := translog.GenerateWitnessKey("witness.court.example", rand.Reader)
	code, out = r.registryctl(filepath.Join(t.TempDir(), "s.json"), "verify-checkpoint", "-witness", r.wvkey, "-witness", other, "-witnesses", "2")
	if code != 1 || !strings.Contains(out, "is cosigned by 1 of the 2 witnesses required") {
		t.Errorf("a quorum of two: exit %d\n%s", code, out)
	}
	if code, out := r.registryctl(filepath.Join(t.TempDir(), "s.json"), "verify-checkpoint", "-witness", r.wvkey, "-witness", other, "-witnesses", "1"); code != 0 {
		t.Errorf("one of two: exit %d\n%s", code, out)
	}
	cosigned := r.w.Latest("test.registry/log")

	// The fork: the same size, another root.
	r.exec("DROP TRIGGER events_append_only ON events", "DROP TRIGGER log_hashes_append_only ON log_hashes",
		"DROP TRIGGER checkpoints_append_only ON checkpoints",
		`UPDATE events SET record = convert_to(replace(convert_from(record, 'UTF8'), '北京华夏重工', '北京华厦重工'), 'UTF8') WHERE log_index = 2`)
	r.rebuildTree()
	r.exec("DELETE FROM checkpoints")
	forked, err := r.restart().PublishCheckpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if forked.Size != cosigned {
		t.Fatalf("the forked checkpoint has %d events, the cosigned one %d", forked.Size, cosigned)
	}
	r.mu.Lock()
	fails := r.fails
	r.mu.Unlock()
	var refusal *witness.Refusal
	if len(fails) != 1 || !errors.As(fails[0], &refusal) || refusal.Status != 422 {
		t.Fatalf("the witness's answers to the fork: %v", fails)
	}
	if r.w.Latest("test.registry/log") != cosigned {
		t.Errorf("the witness moved to %d", r.w.Latest("test.registry/log"))
	}
	if bytes.Contains(forked.Note, []byte("— witness.bank.example ")) {
		t.Fatalf("the forked checkpoint is cosigned:\n%s", forked.Note)
	}
	// A verifier that never saw the first history still cannot be shown
	// the second: no witness vouches for it.
	code, out = r.registryctl(filepath.Join(t.TempDir(), "new.json"), "verify-checkpoint", "-witness", r.wvkey)
	if code != 1 || !strings.Contains(out, "is cosigned by 0 of the 1 witness required") {
		t.Errorf("a new verifier shown the fork: exit %d\n%s", code, out)
	}
	// And one that did sees the rewrite.
	code, out = r.registryctl(state, "verify-checkpoint", "-witness", r.wvkey)
	if code != 1 || !strings.Contains(out, "the log was rewritten") {
		t.Errorf("the first verifier shown the fork: exit %d\n%s", code, out)
	}
}

// TestAuditRewriteFoundThroughTheSignedHead: after a verifier's run, the
// registry goes on (a filing, a checkpoint); then an audit entry written
// since that run is rewritten and the chain recomputed from it to the
// head, as an attacker with the database would. Every entry still chains
// from the one before and the entry the verifier pinned is unchanged: only
// the head the signed checkpoint commits to shows it, to that verifier and
// to a new one. The registry then refuses to sign a checkpoint over the
// rewritten trail.
func TestAuditRewriteFoundThroughTheSignedHead(t *testing.T) {
	t.Parallel()
	r := newRegister(t)
	state := filepath.Join(t.TempDir(), "s.json")
	if code, out := r.registryctl(state, "verify"); code != 0 {
		t.Fatalf("before: exit %d\n%s", code, out)
	}
	r.call("POST", "/registrations", r.bank, filing("上海新晨机械有限公司", "91310115MA1K3YJ12G", "SN-8"), 201)
	r.publish()
	var last int64
	if err := r.db.QueryRow("SELECT max(id) FROM audit_entries").Scan(&last); err != nil {
		t.Fatal(err)
	}
	r.exec("DROP TRIGGER audit_entries_append_only ON audit_entries", fmt.Sprintf(`UPDATE audit_entries SET source = '10.9.9.9' WHERE id = %d`, last))
	rows, err := r.db.Query(`SELECT id, at, actor, COALESCE(user_id::text, ''), COALESCE(organization_id::text, ''), action, target, outcome, source, request_id, detail
		FROM audit_entries ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	chain := audit.ChainStart
	var chains [][]any
	for rows.Next() {
		var id int64
		var e audit.Entry
		var actor, outcome string
		if err := rows.Scan(&id, &e.At, &actor, &e.UserID, &e.OrganizationID, &e.Action, &e.Target, &outcome, &e.Source, &e.RequestID, &e.Detail); err != nil {
			t.Fatal(err)
		}
		e.At, e.Actor, e.Outcome = e.At.UTC(), audit.ActorKind(actor), audit.Outcome(outcome)
		chain = audit.Chain(chain, id, e)
		chains = append(chains, []any{id, chain})
	}
	rows.Close()
	for _, c := range chains {
		if _, err := r.db.Exec("UPDATE audit_entries SET chain = $2 WHERE id = $1", c...); err != nil {
			t.Fatal(err)
		}
	}
	r.exec("UPDATE audit_head SET hash = '\\x" + hex.EncodeToString(chain) + "'")

	for _, st := range []string{state, filepath.Join(t.TempDir(), "fresh.json")} {
		code, out := r.registryctl(st, "verify")
		if code != 1 || !strings.Contains(out, fmt.Sprintf("audit entry %d does not have the chain value the signed checkpoint commits to", last)) ||
			strings.Contains(out, "does not match its chain value") || strings.Contains(out, "has changed since it was verified") {
			t.Errorf("verifying again (%s): exit %d\n%s", filepath.Base(st), code, out)
		}
	}
	r.call("POST", "/registrations", r.bank, filing("上海新晨机械有限公司", "91310115MA1K3YJ12G", "SN-9"), 201)
	time.Sleep(10 * time.Millisecond)
	if _, err := r.restart().PublishCheckpoint(context.Background()); !errors.Is(err, registry.ErrLogInconsistent) {
		t.Errorf("the registry signed a checkpoint over the rewritten trail: %v", err)
	}
}

// TestProveOwnEvent: a bank checks its own filing, naming an individual,
// with its token alone: inclusion under the signed checkpoint and the
// identity number's commitment. A number the filing does not hold fails.
func TestProveOwnEvent(t *testing.T) {
	t.Parallel()
	r := newRegister(t)
	f := filing("上海新晨机械有限公司", "91310115MA1K3YJ12G", "SN-P")
	f["grantors"] = append(f["grantors"].([]any), map[string]any{"type": "individual", "name": "张三", "id_number": "110101199003071233", "address": "上海市浦东新区张江路88号"})
	number := r.call("POST", "/registrations", r.bank, f, 201)["number"].(string)
	prove := func(args ...string) (int, string) {
		var out, errs bytes.Buffer
		args = append(append([]string{"prove", number}, args...), "-url", r.url, "-token", r.bank, "-state", filepath.Join(t.TempDir(), "bank.json"))
		code := run(context.Background(), args, func(string) string { return "" }, &out, &errs)
		return code, out.String() + errs.String()
	}
	code, out := prove("-id", "110101199003071233")
	if code != 0 || !strings.Contains(out, "included in the signed checkpoint") || !strings.Contains(out, "its commitment in the record opens to it") {
		t.Errorf("the bank's own event: exit %d\n%s", code, out)
	}
	if code, out := prove("-id", "110101199003071225"); code != 1 || !strings.Contains(out, "no commitment in the record opens to it") {
		t.Errorf("a number the event does not hold: exit %d\n%s", code, out)
	}
}

// syncBuffer is a bytes.Buffer safe to read while a command writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestWitnessCommand makes a key with registryctl witness -keygen, runs the
// witness on it for a register's log, and has the register's checkpoint
// cosigned through it; the state file keeps the size.
func TestWitnessCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var key, keyErr bytes.Buffer
	if code := run(context.Background(), []string{"witness", "-keygen", "witness.court.example"}, func(string) string { return "" }, &key, &keyErr); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, keyErr.String())
	}
	vkey := strings.TrimSpace(strings.TrimPrefix(keyErr.String(), "verifier key (give it to the registry and to verifiers): "))
	keyFile := filepath.Join(dir, "witness.key")
	if err := os.WriteFile(keyFile, key.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newRegister(t)
	_, logKey, err := r.send("GET", "/log/key", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state.json")
	ctx, cancel := context.WithCancel(context.Background())
	out, errs := &syncBuffer{}, &syncBuffer{}
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"witness", "-key", keyFile, "-log", strings.TrimSpace(string(logKey)), "-state", state, "-addr", "127.0.0.1:0"},
			func(string) string { return "" }, out, errs)
	}()
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == ""; time.Sleep(20 * time.Millisecond) {
		if _, rest, ok := strings.Cut(out.String(), " on "); ok {
			url, _, _ = strings.Cut(rest, ",")
		}
		if time.Now().After(deadline) {
			t.Fatalf("the witness did not start: %s %s", out.String(), errs.String())
		}
	}
	client, err := witness.NewClient(vkey, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, note, err := r.send("GET", "/log/checkpoint", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := client.AddCheckpoint(context.Background(), translog.AddCheckpoint{Note: note})
	if err != nil {
		t.Fatalf("add-checkpoint: %v", err)
	}
	logV, _ := notepkg.NewVerifier(strings.TrimSpace(string(logKey)))
	wv, _ := translog.WitnessVerifier(vkey)
	cp, err := translog.OpenCosigned(translog.AddSignatures(note, sigs), logV, []notepkg.Verifier{wv})
	if err != nil || len(cp.Witnesses) != 1 || cp.Witnesses[0] != "witness.court.example" {
		t.Fatalf("the cosigned checkpoint: %+v, %v", cp, err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("the witness stopped with exit %d: %s", code, errs.String())
	}
	b, err := os.ReadFile(state)
	if err != nil || !strings.Contains(string(b), fmt.Sprintf(`"size": %d`, cp.Size)) {
		t.Errorf("the state file: %v\n%s", err, b)
	}
}
