package witness

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/movable-registry/registry/internal/translog"
)

// tree is a log in memory with its signer.
type tree struct {
	mem    translog.MemoryTree
	n      int64
	signer note.Signer
	prefix string
}

func (tr *tree) grow(t *testing.T, k int) {
	for range k {
		if err := tr.mem.Append(tr.n, fmt.Appendf(nil, "%s record %d", tr.prefix, tr.n)); err != nil {
			t.Fatal(err)
		}
		tr.n++
	}
}

func (tr *tree) checkpoint(t *testing.T) []byte {
	root, err := tr.mem.Root(tr.n)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := translog.Sign(translog.Checkpoint{Origin: "example.registry/log", Size: tr.n, Root: root}, tr.signer)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// proof is the consistency proof from old to the tree's size, through the
// hashes a registry stores.
func (tr *tree) proof(t *testing.T, old int64) []translog.Hash {
	if old == 0 || old == tr.n {
		return nil
	}
	p, err := translog.ProveConsistency(context.Background(), memReader{&tr.mem}, old, tr.n)
	if err != nil {
		t.Fatal(err)
	}
	return p.Proof
}

type memReader struct{ m *translog.MemoryTree }

func (r memReader) ReadHashes(_ context.Context, ix []int64) ([]translog.Hash, error) {
	return r.m.ReadHashes(ix)
}

// TestWitnessFollowsAGrowingLogAndRefusesAFork runs a witness on loopback and
// talks to it with the registry's client: it cosigns a growing log, keeps its
// state across a restart, answers 409 with its size, and refuses a second
// history of one size, a fork that does not extend what it cosigned, a
// checkpoint by another key and a log it does not follow.
func TestWitnessFollowsAGrowingLogAndRefusesAFork(t *testing.T) {
	ctx := context.Background()
	skey, vkey, err := translog.GenerateKey("example.registry/log", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, _, _ := translog.Signer(skey)
	logV, _ := note.NewVerifier(vkey)
	wskey, wvkey, err := translog.GenerateWitnessKey("witness.bank.example", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	wsigner, wvkey2, err := translog.WitnessSigner(wskey)
	if err != nil || wvkey2 != wvkey {
		t.Fatalf("witness key: %v, %q != %q", err, wvkey2, wvkey)
	}
	wv, err := translog.WitnessVerifier(wvkey)
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "witness.json")
	log, err := ParseLog(vkey)
	if err != nil || log.Origin != "example.registry/log" {
		t.Fatalf("log: %+v, %v", log, err)
	}
	w, err := New(wsigner, []Log{log}, state, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w)
	defer srv.Close()
	c, err := ParseClient(wvkey+"="+srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}

	honest := &tree{signer: signer, prefix: "honest"}
	add := func(tr *tree, old int64) ([]byte, error) {
		msg := tr.checkpoint(t)
		return c.AddCheckpoint(ctx, translog.AddCheckpoint{OldSize: old, Proof: tr.proof(t, old), Note: msg})
	}
	cosigned := func(tr *tree, sigs []byte) {
		t.Helper()
		got, err := translog.OpenCosigned(translog.AddSignatures(tr.checkpoint(t), sigs), logV, []note.Verifier{wv})
		if err != nil || len(got.Witnesses) != 1 || got.Witnesses[0] != "witness.bank.example" || got.Size != tr.n {
			t.Fatalf("cosigned checkpoint of %d: %+v, %v", tr.n, got, err)
		}
	}
	old := int64(0)
	for _, k := range []int{1, 5, 250, 3, 600} {
		honest.grow(t, k)
		sigs, err := add(honest, old)
		if err != nil {
			t.Fatalf("size %d from %d: %v", honest.n, old, err)
		}
		cosigned(honest, sigs)
		old = honest.n
	}
	// The same checkpoint again is cosigned again.
	if _, err := add(honest, old); err != nil {
		t.Fatalf("the same size again: %v", err)
	}

	// Restarted, the witness remembers; a client that does not know the
	// size learns it from a 409.
	srv.Close()
	w2, err := New(wsigner, []Log{log}, state, nil)
	if err != nil || w2.Latest("example.registry/log") != honest.n {
		t.Fatalf("after a restart the witness holds %d, %v; want %d", w2.Latest("example.registry/log"), err, honest.n)
	}
	srv = httptest.NewServer(w2)
	c, _ = ParseClient(wvkey+"="+srv.URL, nil)
	honest.grow(t, 10)
	_, err = add(honest, 0)
	var conflict *translog.WitnessConflict
	if !errors.As(err, &conflict) || conflict.Size != old {
		t.Fatalf("an old size of 0 after %d: %v", old, err)
	}
	if sigs, err := add(honest, conflict.Size); err != nil {
		t.Fatal(err)
	} else {
		cosigned(honest, sigs)
	}
	old = honest.n

	status := func(err error) int {
		var ref *Refusal
		switch {
		case err == nil:
			return http.StatusOK
		case errors.As(err, &ref):
			return ref.Status
		}
		return 0
	}
	// A fork: the same key signs another history of the same size, and one
	// that grows from it.
	fork := &tree{signer: signer, prefix: "fork"}
	fork.grow(t, int(old))
	if _, err := add(fork, old); status(err) != http.StatusUnprocessableEntity {
		t.Errorf("a second checkpoint of size %d: %v", old, err)
	}
	fork.grow(t, 7)
	if _, err := add(fork, old); status(err) != http.StatusUnprocessableEntity {
		t.Errorf("a forked checkpoint of size %d: %v", fork.n, err)
	}
	if w2.Latest("example.registry/log") != old {
		t.Errorf("the refused fork moved the witness to %d", w2.Latest("example.registry/log"))
	}
	// Smaller than what was cosigned, another key, another log, a bad body.
	if _, err := c.AddCheckpoint(ctx, translog.AddCheckpoint{OldSize: old + 1, Note: honest.checkpoint(t)}); status(err) != http.StatusBadRequest {
		t.Errorf("old size beyond the checkpoint: %v", err)
	}
	otherKey, _, _ := translog.GenerateKey("example.registry/log", rand.Reader)
	otherSigner, _, _ := translog.Signer(otherKey)
	stranger := &tree{signer: otherSigner, prefix: "honest", mem: honest.mem, n: honest.n}
	if _, err := add(stranger, old); status(err) != http.StatusForbidden {
		t.Errorf("a checkpoint signed by another key: %v", err)
	}
	elsewhereKey, _, _ := translog.GenerateKey("elsewhere.example/log", rand.Reader)
	elsewhere, _, _ := translog.Signer(elsewhereKey)
	root, _ := honest.mem.Root(honest.n)
	msg, _ := translog.Sign(translog.Checkpoint{Origin: "elsewhere.example/log", Size: honest.n, Root: root}, elsewhere)
	if _, err := c.AddCheckpoint(ctx, translog.AddCheckpoint{Note: msg}); status(err) != http.StatusNotFound {
		t.Errorf("a log the witness does not follow: %v", err)
	}
	resp, err := http.Post(srv.URL+"/add-checkpoint", "text/plain", nil)
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an empty body: %v %v", resp.Status, err)
	}
	// The honest log goes on being cosigned.
	honest.grow(t, 1)
	if _, err := add(honest, old); err != nil {
		t.Fatalf("the honest log after the fork: %v", err)
	}
}
