package translog

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	cosig "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Witnesses cosign checkpoints (C2SP tlog-witness and tlog-cosignature): a
// witness keeps the latest checkpoint it cosigned for each log it follows
// and cosigns a new one only when a consistency proof shows it extends that
// one. A checkpoint cosigned by witnesses that do not answer to the registry
// shows every reader the same history.

// GenerateWitnessKey makes an Ed25519 key for a witness named name: the
// private key text, and its cosignature/v1 verifier key (type 0x04) that
// readers and the registry configure.
func GenerateWitnessKey(name string, rand io.Reader) (skey, vkey string, err error) {
	skey, vkey, err = note.GenerateKey(rand, name)
	if err != nil {
		return "", "", err
	}
	vkey, err = cosig.VKeyToCosignatureV1(vkey)
	return skey, vkey, err
}

// WitnessSigner loads a witness's signing key: it makes timestamped
// cosignature/v1 signatures. It returns the verifier key that checks them.
func WitnessSigner(skey string) (note.Signer, string, error) {
	s, err := cosig.NewSignerForCosignatureV1(strings.TrimSpace(skey))
	if err != nil {
		return nil, "", fmt.Errorf("witness key: %w", err)
	}
	// The verifier key follows from the private key's Ed25519 key text.
	_, vkey, err := Signer(strings.TrimSpace(skey))
	if err != nil {
		return nil, "", fmt.Errorf("witness key: %w", err)
	}
	if vkey, err = cosig.VKeyToCosignatureV1(vkey); err != nil {
		return nil, "", fmt.Errorf("witness key: %w", err)
	}
	return s, vkey, nil
}

// WitnessVerifier reads a witness's cosignature/v1 verifier key.
func WitnessVerifier(vkey string) (note.Verifier, error) {
	v, err := cosig.NewVerifierForCosignatureV1(strings.TrimSpace(vkey))
	if err != nil {
		return nil, fmt.Errorf("witness key %q: %w", vkey, err)
	}
	return v, nil
}

// AddCheckpoint is the body of a tlog-witness add-checkpoint request: the
// size of the checkpoint the witness cosigned last, a proof that the new
// checkpoint extends it, and the new signed checkpoint.
type AddCheckpoint struct {
	OldSize int64
	Proof   []Hash
	Note    []byte
}

// Marshal writes the request body.
func (r AddCheckpoint) Marshal() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", r.OldSize)
	for _, h := range r.Proof {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
	}
	b.WriteString("\n")
	b.Write(r.Note)
	return b.Bytes()
}

// ErrBadRequest is an add-checkpoint body that cannot be read.
var ErrBadRequest = errors.New("malformed add-checkpoint request")

// ParseAddCheckpoint reads an add-checkpoint request body.
func ParseAddCheckpoint(body []byte) (AddCheckpoint, error) {
	head, rest, ok := bytes.Cut(body, []byte("\n\n"))
	if !ok {
		return AddCheckpoint{}, fmt.Errorf("%w: no empty line before the checkpoint", ErrBadRequest)
	}
	lines := strings.Split(string(head), "\n")
	old, found := strings.CutPrefix(lines[0], "old ")
	n, err := strconv.ParseInt(old, 10, 64)
	if !found || err != nil || n < 0 || strconv.FormatInt(n, 10) != old {
		return AddCheckpoint{}, fmt.Errorf("%w: the first line is not \"old <size>\"", ErrBadRequest)
	}
	if len(lines)-1 > 63 {
		return AddCheckpoint{}, fmt.Errorf("%w: more than 63 proof lines", ErrBadRequest)
	}
	r := AddCheckpoint{OldSize: n, Note: rest}
	for _, l := range lines[1:] {
		h, err := base64.StdEncoding.DecodeString(l)
		if err != nil || len(h) != tlog.HashSize {
			return AddCheckpoint{}, fmt.Errorf("%w: proof line %q is not a hash", ErrBadRequest, l)
		}
		r.Proof = append(r.Proof, Hash(h))
	}
	return r, nil
}

// Cosigned is what a reader can tell of a checkpoint with cosignatures: the
// checkpoint the log signed, and the names of the trusted witnesses whose
// cosignatures verify.
type Cosigned struct {
	Checkpoint
	Witnesses []string
}

// OpenCosigned checks a checkpoint's signature by the log and any
// cosignatures by the witnesses given; signatures by other keys are
// ignored, and a bad signature by a known key is an error.
func OpenCosigned(msg []byte, log note.Verifier, witnesses []note.Verifier) (Cosigned, error) {
	n, err := note.Open(msg, note.VerifierList(append([]note.Verifier{log}, witnesses...)...))
	if err != nil {
		return Cosigned{}, fmt.Errorf("checkpoint signature: %w", err)
	}
	var out Cosigned
	signed := false
	for _, s := range n.Sigs {
		switch {
		case s.Name == log.Name() && s.Hash == log.KeyHash():
			signed = true
		case !slices.Contains(out.Witnesses, s.Name):
			out.Witnesses = append(out.Witnesses, s.Name)
		}
	}
	if !signed {
		return Cosigned{}, errors.New("checkpoint signature: not signed by the log's key")
	}
	if out.Checkpoint, err = Parse(n.Text); err != nil {
		return Cosigned{}, err
	}
	return out, nil
}

// AddSignatures appends signature lines (a witness's answer) to a signed
// note.
func AddSignatures(msg, lines []byte) []byte {
	out := append(bytes.Clone(msg), lines...)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return out
}

// WitnessConflict is a witness's answer that the checkpoint it cosigned last
// has another size than the request said: the request is made again from
// that size.
type WitnessConflict struct{ Size int64 }

func (e *WitnessConflict) Error() string {
	return fmt.Sprintf("the witness cosigned a checkpoint of size %d last", e.Size)
}
