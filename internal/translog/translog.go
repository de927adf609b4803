// Package translog is the register's Merkle log: the tree over registry
// events (golang.org/x/mod/sumdb/tlog), its signed checkpoints in the C2SP
// checkpoint form (golang.org/x/mod/sumdb/note) and the proofs served from it.
package translog

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Hash is a node of the tree.
type Hash = tlog.Hash

// HashReader reads stored hashes by their tlog storage index, in the order
// asked; a store implements it over its table of hashes.
type HashReader interface {
	ReadHashes(ctx context.Context, indexes []int64) ([]Hash, error)
}

// reader adapts a HashReader to tlog's context-free interface.
func reader(ctx context.Context, r HashReader) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]Hash, error) { return r.ReadHashes(ctx, indexes) })
}

// Append returns the hashes to store for record n, from storage index
// LeafIndex(n) on. Records 0..n-1 must be stored already.
func Append(ctx context.Context, r HashReader, n int64, record []byte) ([]Hash, error) {
	return tlog.StoredHashes(n, record, reader(ctx, r))
}

// LeafIndex is the storage index of record n's leaf hash.
func LeafIndex(n int64) int64 { return tlog.StoredHashIndex(0, n) }

// TreeHash is the root of the tree of the first n records.
func TreeHash(ctx context.Context, r HashReader, n int64) (Hash, error) {
	return tlog.TreeHash(n, reader(ctx, r))
}

// InclusionProof proves that the tree of size records holds record index.
type InclusionProof struct {
	Index    int64  `json:"index"`
	Size     int64  `json:"size"`
	LeafHash Hash   `json:"leaf_hash"`
	RootHash Hash   `json:"root_hash"`
	Proof    []Hash `json:"proof"`
}

// ProveInclusion builds the proof that record index is in the tree of size.
func ProveInclusion(ctx context.Context, r HashReader, index, size int64) (InclusionProof, error) {
	tr := reader(ctx, r)
	leaf, err := tr.ReadHashes([]int64{LeafIndex(index)})
	if err != nil {
		return InclusionProof{}, err
	}
	root, err := tlog.TreeHash(size, tr)
	if err != nil {
		return InclusionProof{}, err
	}
	p, err := tlog.ProveRecord(size, index, tr)
	if err != nil {
		return InclusionProof{}, err
	}
	return InclusionProof{Index: index, Size: size, LeafHash: leaf[0], RootHash: root, Proof: nonNil(p)}, nil
}

// ConsistencyProof proves that the tree of size To extends the tree of size From.
type ConsistencyProof struct {
	From     int64  `json:"from"`
	To       int64  `json:"to"`
	FromRoot Hash   `json:"from_root"`
	ToRoot   Hash   `json:"to_root"`
	Proof    []Hash `json:"proof"`
}

// ProveConsistency builds the proof that the tree of size to extends the tree
// of size from; 1 <= from <= to.
func ProveConsistency(ctx context.Context, r HashReader, from, to int64) (ConsistencyProof, error) {
	tr := reader(ctx, r)
	fromRoot, err := tlog.TreeHash(from, tr)
	if err != nil {
		return ConsistencyProof{}, err
	}
	toRoot, err := tlog.TreeHash(to, tr)
	if err != nil {
		return ConsistencyProof{}, err
	}
	p, err := tlog.ProveTree(to, from, tr)
	if err != nil {
		return ConsistencyProof{}, err
	}
	return ConsistencyProof{From: from, To: to, FromRoot: fromRoot, ToRoot: toRoot, Proof: nonNil(p)}, nil
}

func nonNil(p []Hash) []Hash {
	if p == nil {
		return []Hash{}
	}
	return p
}

// Checkpoint is the body of a signed checkpoint: which log, how many records,
// and the root of their tree, then any extension lines (C2SP
// tlog-checkpoint), which the log's signature covers too.
type Checkpoint struct {
	Origin     string
	Size       int64
	Root       Hash
	Extensions []string
}

// Text is the checkpoint's note text: origin, size and root hash, one per
// line, then the extension lines.
func (c Checkpoint) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root[:]))
	for _, x := range c.Extensions {
		b.WriteString(x + "\n")
	}
	return b.String()
}

// Extension returns the value of the extension line that starts with key and
// a space, and whether there is one.
func (c Checkpoint) Extension(key string) (string, bool) {
	for _, x := range c.Extensions {
		if v, ok := strings.CutPrefix(x, key+" "); ok {
			return v, true
		}
	}
	return "", false
}

// Sign returns the signed note of c, signed by each signer in turn: a log
// rotating its key signs with the new key and the old one, so that readers
// who trust either can check it.
func Sign(c Checkpoint, s ...note.Signer) ([]byte, error) {
	return note.Sign(&note.Note{Text: c.Text()}, s...)
}

// KeyID names a note key as signature lines do: "name+hash" (the hash in 8
// hex digits), whether from a verifier key text or a signature.
func KeyID(name string, hash uint32) string { return fmt.Sprintf("%s+%08x", name, hash) }

// Signatures lists the keys (KeyID) that signed a note, none verified: what
// an operator compares with the keys configured when none of them verifies
// it. A note that cannot be read lists none.
func Signatures(msg []byte) []string {
	_, err := note.Open(msg, note.VerifierList())
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) {
		return nil
	}
	var out []string
	for _, s := range unverified.Note.UnverifiedSigs {
		out = append(out, KeyID(s.Name, s.Hash))
	}
	return out
}

// ErrBadCheckpoint is a checkpoint that cannot be read.
var ErrBadCheckpoint = errors.New("malformed checkpoint")

// Open checks a signed checkpoint against the verifier and reads it.
func Open(msg []byte, v note.Verifier) (Checkpoint, error) {
	c, err := OpenCosigned(msg, v, nil)
	return c.Checkpoint, err
}

// Parse reads a checkpoint's note text, with its extension lines (each
// non-empty).
func Parse(text string) (Checkpoint, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 || lines[0] == "" {
		return Checkpoint{}, ErrBadCheckpoint
	}
	var ext []string
	for rest := lines[3]; rest != ""; {
		line, after, found := strings.Cut(rest, "\n")
		if line == "" || !found {
			return Checkpoint{}, fmt.Errorf("%w: an empty or unterminated extension line", ErrBadCheckpoint)
		}
		ext, rest = append(ext, line), after
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return Checkpoint{}, fmt.Errorf("%w: size %q", ErrBadCheckpoint, lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return Checkpoint{}, fmt.Errorf("%w: root hash %q", ErrBadCheckpoint, lines[2])
	}
	c := Checkpoint{Origin: lines[0], Size: size, Extensions: ext}
	copy(c.Root[:], root)
	return c, nil
}

// Signer loads a note signer from its private key text
// ("PRIVATE+KEY+name+hash+key") and derives the verifier key served to
// clients.
func Signer(skey string) (note.Signer, string, error) {
	skey = strings.TrimSpace(skey)
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, "", fmt.Errorf("log signing key: %w", err)
	}
	// note has no call that derives the verifier key from the private one;
	// derive it, then prove the pair by a signature.
	vkey, err := verifierKey(skey)
	if err != nil {
		return nil, "", err
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, "", err
	}
	sig, err := s.Sign([]byte("key check\n"))
	if err != nil || !v.Verify([]byte("key check\n"), sig) || v.KeyHash() != s.KeyHash() {
		return nil, "", errors.New("log signing key: its public half does not verify its signatures")
	}
	return s, vkey, nil
}

// verifierKey turns "PRIVATE+KEY+name+hash+<alg><seed>" into
// "name+hash+<alg><public key>".
func verifierKey(skey string) (string, error) {
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", errors.New("log signing key: not a note private key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+32 || raw[0] != 1 {
		return "", errors.New("log signing key: not an Ed25519 note key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(parts[2], pub)
}

// GenerateKey makes a new Ed25519 signing key for a log named name.
func GenerateKey(name string, rand io.Reader) (skey, vkey string, err error) {
	return note.GenerateKey(rand, name)
}

// NewSigner makes a fresh signing key for a log named name and returns its
// signer and verifier key, for a registry whose key need not outlive it
// (tests).
func NewSigner(name string) (note.Signer, string, error) {
	skey, _, err := GenerateKey(name, rand.Reader)
	if err != nil {
		return nil, "", err
	}
	return Signer(skey)
}

// MemoryTree is the tree a verifier computes on its own from the records it
// downloaded, all its stored hashes in memory.
type MemoryTree struct{ stored []Hash }

// ReadHashes implements tlog.HashReader.
func (m *MemoryTree) ReadHashes(indexes []int64) ([]Hash, error) {
	out := make([]Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m.stored)) {
			return nil, fmt.Errorf("hash %d is not computed", x)
		}
		out[i] = m.stored[x]
	}
	return out, nil
}

// Hashes are the tree's stored hashes, in tlog's storage order: what a
// store holds for these records.
func (m *MemoryTree) Hashes() []Hash { return m.stored }

// AppendLeaf adds the record whose leaf hash is leaf as record n, the next.
func (m *MemoryTree) AppendLeaf(n int64, leaf Hash) error {
	hs, err := tlog.StoredHashesForRecordHash(n, leaf, m)
	m.stored = append(m.stored, hs...)
	return err
}

// Append adds record as record n, the next.
func (m *MemoryTree) Append(n int64, record []byte) error {
	return m.AppendLeaf(n, tlog.RecordHash(record))
}

// Root is the root of the tree of the first n records.
func (m *MemoryTree) Root(n int64) (Hash, error) { return tlog.TreeHash(n, m) }
