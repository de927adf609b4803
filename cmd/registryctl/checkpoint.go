package main

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	apiclient "github.com/movable-registry/registry/client"
	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/translog"
)

// checkpoint fetches the latest checkpoint and checks its signature with the
// key given, else the key pinned in st, else (on first use) the registry's own.
func (v *verifier) checkpoint(ctx context.Context, st *state) (translog.Checkpoint, []byte, error) {
	resp, err := v.api.api.GetLogKey(ctx)
	served, err := body("GET /log/key", resp, err)
	if err != nil {
		return translog.Checkpoint{}, nil, err
	}
	key := v.key
	switch {
	case key == "" && st.VerifierKey != "":
		key = st.VerifierKey
	case key == "":
		key = strings.TrimSpace(string(served))
		v.note("trusting the registry's verifier key on first use: %s\n  (compare it with the key the registry publishes elsewhere; it is pinned from now on)", key)
	}
	nv, err := note.NewVerifier(key)
	if err != nil {
		return translog.Checkpoint{}, nil, fmt.Errorf("verifier key: %w", err)
	}
	st.VerifierKey = key
	resp, err = v.api.api.GetCheckpoint(ctx)
	msg, err := body("GET /log/checkpoint", resp, err)
	if err != nil {
		return translog.Checkpoint{}, nil, err
	}
	cosigned, err := translog.OpenCosigned(msg, nv, v.witnesses)
	if err != nil {
		v.find("the checkpoint does not verify with key %s: %v", key, err)
		return translog.Checkpoint{}, nil, errFindings
	}
	cp := cosigned.Checkpoint
	if next, ok := v.rotation(cp, msg, key); ok {
		// The trusted key signed the new key's name: it is pinned from now on.
		st.VerifierKey, key = next, next
	}
	if strings.TrimSpace(string(served)) != key {
		v.find("the registry now serves the verifier key %q, not the trusted %q", strings.TrimSpace(string(served)), key)
	}
	v.note("checkpoint %s: %s, root %s (signature verified)", cp.Origin, plural(cp.Size, "event", "events"), cp.Root)
	if len(v.witnesses) > 0 {
		if len(cosigned.Witnesses) < v.quorum {
			v.find("the checkpoint of %s is cosigned by %d of the %s required (%s): no quorum vouches that others were shown the same log",
				plural(cp.Size, "event", "events"), len(cosigned.Witnesses), plural(v.quorum, "witness", "witnesses"), strings.Join(cosigned.Witnesses, ", "))
		} else {
			v.note("cosigned by %s (%s); %d required", plural(len(cosigned.Witnesses), "witness", "witnesses"), strings.Join(cosigned.Witnesses, ", "), v.quorum)
		}
	}
	h, ok, err := registry.AuditHeadOf(cp)
	switch {
	case err != nil:
		v.find("%v", err)
	case ok:
		v.head, v.hasHead = h, true
		v.note("the checkpoint commits to the audit trail up to entry %d", h.Seq)
	}
	return cp, msg, nil
}

// rotation reads a key rotation from a checkpoint that the trusted key
// signed: its log-key line names the log's new key, which must sign the
// checkpoint too. It returns the new key to trust.
func (v *verifier) rotation(cp translog.Checkpoint, msg []byte, trusted string) (string, bool) {
	next, ok := cp.Extension(registry.LogKeyExtension)
	if !ok || next == trusted {
		return "", false
	}
	nv, err := note.NewVerifier(next)
	if err != nil {
		v.find("the checkpoint names the new log key %q, which cannot be read: %v", next, err)
		return "", false
	}
	if _, err := translog.Open(msg, nv); err != nil {
		v.find("the checkpoint names the new log key %s, which did not sign it: %v", next, err)
		return "", false
	}
	v.note("the registry rotated its log key: the checkpoint is signed by the trusted key %s and by the new key %s, which the trusted key names; the new key is trusted from now on", keyName(trusted), keyName(next))
	return next, true
}

// keyName is a verifier key's name and hash, as signature lines give them.
func keyName(vkey string) string {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) < 2 {
		return vkey
	}
	return parts[0] + "+" + parts[1]
}

// extends asks the registry to prove that checkpoint cp extends the tree of
// size n with root, and checks the proof: errFindings when it does not.
func (v *verifier) extends(ctx context.Context, cp translog.Checkpoint, n int64, root tlog.Hash) error {
	var p struct {
		Proof []tlog.Hash `json:"proof"`
	}
	to := int(cp.Size)
	resp, err := v.api.api.ProveConsistency(ctx, &apiclient.ProveConsistencyParams{From: int(n), To: &to})
	if err := decode("GET /log/proof/consistency", resp, err, &p); err != nil {
		return err
	}
	if tlog.CheckTree(p.Proof, cp.Size, cp.Root, n, root) != nil {
		return errFindings
	}
	return nil
}

// verifyCheckpoint is watch alone, for any account (a bank, a court): run
// often, it keeps the registry from showing it one history and others
// another, or rewriting what it has shown. The checkpoint is pinned when it
// holds.
func (v *verifier) verifyCheckpoint(ctx context.Context) error {
	st, cp, msg, err := v.start(ctx)
	if err != nil {
		return err
	}
	if v.findings > 0 {
		return errFindings
	}
	st.pin(cp, msg)
	return v.saveState(st)
}
