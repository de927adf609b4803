package translog

import (
	"context"
	"crypto/rand"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// memory is a HashReader over a slice, for tests without a database.
type memory []Hash

func (m *memory) ReadHashes(_ context.Context, indexes []int64) ([]Hash, error) {
	out := make([]Hash, len(indexes))
	for i, x := range indexes {
		if x >= int64(len(*m)) {
			return nil, fmt.Errorf("no hash %d", x)
		}
		out[i] = (*m)[x]
	}
	return out, nil
}

// TestProofsForEverySize appends 100 records and checks every inclusion and
// consistency proof of every size with tlog's verifiers.
func TestProofsForEverySize(t *testing.T) {
	ctx := context.Background()
	m := &memory{}
	roots := []Hash{{}}
	var records [][]byte
	for n := range int64(100) {
		rec := fmt.Appendf(nil, `{"n":%d}`, n)
		hs, err := Append(ctx, m, n, rec)
		if err != nil || LeafIndex(n) != int64(len(*m)) {
			t.Fatalf("append %d: leaf index %d, %v", n, LeafIndex(n), err)
		}
		*m = append(*m, hs...)
		records = append(records, rec)
		root, err := TreeHash(ctx, m, n+1)
		if err != nil {
			t.Fatal(err)
		}
		roots = append(roots, root)
	}
	for size := int64(1); size <= 100; size++ {
		for i := range size {
			p, err := ProveInclusion(ctx, m, i, size)
			if err != nil {
				t.Fatal(err)
			}
			if p.RootHash != roots[size] || p.LeafHash != tlog.RecordHash(records[i]) || tlog.CheckRecord(p.Proof, size, roots[size], i, p.LeafHash) != nil {
				t.Fatalf("inclusion of %d in %d does not verify", i, size)
			}
			if i == 0 && tlog.CheckRecord(p.Proof, size, roots[size], i, tlog.RecordHash(records[1])) == nil {
				t.Fatalf("a proof of record 0 verifies record 1")
			}
		}
		for from := int64(1); from <= size; from++ {
			p, err := ProveConsistency(ctx, m, from, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.CheckTree(p.Proof, size, roots[size], from, roots[from]); err != nil {
				t.Fatalf("consistency %d→%d: %v", from, size, err)
			}
		}
	}
	if _, err := ProveConsistency(ctx, m, 0, 5); err == nil {
		t.Error("a consistency proof from the empty tree")
	}
}

func TestCheckpoints(t *testing.T) {
	skey, vkey, err := GenerateKey("example.registry/log", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, derived, err := Signer(skey + "\n")
	if err != nil || derived != vkey {
		t.Fatalf("verifier key %q, %v; want %q", derived, err, vkey)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	c := Checkpoint{Origin: "example.registry/log", Size: 42, Root: tlog.RecordHash([]byte("x")), Extensions: []string{"audit 7 AAAA"}}
	msg, err := Sign(c, s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(msg), c.Text()+"\n— example.registry/log ") {
		t.Errorf("signed note:\n%s", msg)
	}
	got, err := Open(msg, v)
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Errorf("opened %+v, %v", got, err)
	}
	tampered := strings.Replace(string(msg), "\n42\n", "\n43\n", 1)
	if _, err := Open([]byte(tampered), v); err == nil {
		t.Error("a changed size verifies")
	}
	_, otherV, _ := GenerateKey("example.registry/log", rand.Reader)
	ov, _ := note.NewVerifier(otherV)
	if _, err := Open(msg, ov); err == nil {
		t.Error("another key verifies")
	}
	for _, text := range []string{"", "origin\n", "origin\n-1\nAAAA\n", "origin\n01\n" + strings.Repeat("A", 44) + "\n", "origin\n1\nnot base64\n", "\n1\n" + strings.Repeat("A", 43) + "=\n"} {
		if _, err := Parse(text); err == nil {
			t.Errorf("parsed %q", text)
		}
	}
	if c2, err := Parse(c.Text() + "extension line\n"); err != nil || !reflect.DeepEqual(c2.Extensions, []string{"audit 7 AAAA", "extension line"}) {
		t.Errorf("extension lines: %+v, %v", c2, err)
	}
	if v, ok := c.Extension("audit"); !ok || v != "7 AAAA" {
		t.Errorf("audit extension: %q, %v", v, ok)
	}
	for _, bad := range []string{c.Text() + "\n", c.Text() + "unterminated"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("parsed %q", bad)
		}
	}
	for _, bad := range []string{"", "PRIVATE+KEY+x", vkey, "PRIVATE+KEY+x+00000000+AAAA"} {
		if _, _, err := Signer(bad); err == nil {
			t.Errorf("accepted signing key %q", bad)
		}
	}
}
