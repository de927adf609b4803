package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/statefile"
	"github.com/movable-registry/registry/internal/translog"
)

// verifier checks the register through its API and reports each finding.
type verifier struct {
	api       *client
	out       io.Writer
	statePath string
	key       string
	// witnesses are the witnesses whose cosignatures count; a checkpoint
	// needs quorum of them.
	witnesses []note.Verifier
	quorum    int
	mu        sync.Mutex // the checks run at once: one finding at a time
	findings  int
	// head is the audit head the checkpoint commits to, if it does.
	head    registry.AuditHead
	hasHead bool
}

// find reports one thing that does not hold.
func (v *verifier) find(format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.findings++
	fmt.Fprintf(v.out, "FINDING: "+format+"\n", args...)
}

func (v *verifier) note(format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	fmt.Fprintf(v.out, format+"\n", args...)
}

// state is what verify remembers between runs: the key it trusts, the last
// checkpoint and the newest audit entry it verified.
type state struct {
	VerifierKey string `json:"verifier_key"`
	Checkpoint  struct {
		Size int64     `json:"size"`
		Root tlog.Hash `json:"root"`
		Note string    `json:"note"`
	} `json:"checkpoint"`
	Audit struct {
		ID    int64  `json:"id"`
		Chain []byte `json:"chain"`
	} `json:"audit"`
	VerifiedAt time.Time `json:"verified_at"`
}

func (v *verifier) loadState() (state, error) {
	var st state
	return st, statefile.Load(v.statePath, &st)
}

func (v *verifier) saveState(st state) error { return statefile.Save(v.statePath, st) }

// verify checks the whole register.
func (v *verifier) verify(ctx context.Context) error {
	st, cp, msg, err := v.start(ctx)
	if err != nil {
		return err
	}
	// Three reads at once: the entries (checked as they come), the
	// registrations' digests the API derives, and the audit trail; the
	// registry works on one while this process checks another.
	began := time.Now()
	at := began.UTC().Truncate(time.Microsecond)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var served []registry.RegistrationDigest
	var scan *auditScan
	var servedErr, scanErr error
	var wg sync.WaitGroup
	wg.Go(func() { served, servedErr = v.fetchStates(ctx, cp.Size, at) })
	wg.Go(func() { scan, scanErr = v.scanAudit(ctx, st) })
	records, root, ok, err := v.entries(ctx, cp.Size)
	if err != nil {
		cancel()
		wg.Wait()
		return err
	}
	if ok && root != cp.Root {
		v.find("the %d entries served hash to root %s, not to the signed %s: entries were changed, removed or reordered since it was signed", cp.Size, root, cp.Root)
	} else if ok {
		v.note("%s read and checked; their tree has the signed root (%.1f s)", plural(cp.Size, "entry", "entries"), time.Since(began).Seconds())
	}
	wg.Wait()
	if err := errors.Join(servedErr, scanErr); err != nil {
		return err
	}
	if err := v.compareStates(ctx, records, served, at, cp.Size); err != nil {
		return err
	}
	head, err := v.matchAudit(ctx, records, scan)
	if err != nil {
		return err
	}
	v.note("verified in %.1f s", time.Since(began).Seconds())
	if v.findings > 0 {
		return errFindings
	}
	st.pin(cp, msg)
	st.Audit.ID, st.Audit.Chain = head.ID, head.Chain
	return v.saveState(st)
}

func (st *state) pin(cp translog.Checkpoint, msg []byte) {
	st.Checkpoint.Size, st.Checkpoint.Root, st.Checkpoint.Note = cp.Size, cp.Root, string(msg)
	st.VerifiedAt = time.Now().UTC()
}

// start loads what the last run verified and watches the checkpoint: the
// first steps of every verification.
func (v *verifier) start(ctx context.Context) (state, translog.Checkpoint, []byte, error) {
	st, err := v.loadState()
	if err != nil {
		return st, translog.Checkpoint{}, nil, err
	}
	cp, msg, err := v.watch(ctx, &st)
	return st, cp, msg, err
}

// watch fetches the latest checkpoint, checks its signature, and checks that
// it extends the checkpoint verified last time: a log that was rewritten or
// shrank cannot pass. Any account may do this much.
func (v *verifier) watch(ctx context.Context, st *state) (translog.Checkpoint, []byte, error) {
	cp, msg, err := v.checkpoint(ctx, st)
	if err != nil {
		return cp, nil, err
	}
	old := st.Checkpoint
	switch {
	case old.Size == 0:
	case cp.Size < old.Size:
		v.shorter(cp, old.Size, old.Note, st.VerifierKey, st.VerifiedAt)
	case cp.Size == old.Size && cp.Root != old.Root:
		v.find("the checkpoint of %d events now has root %s; verified before, it had %s: the log was rewritten", cp.Size, cp.Root, old.Root)
	case cp.Size > old.Size:
		err := v.extends(ctx, cp, old.Size, old.Root)
		switch {
		case errors.Is(err, errFindings):
			v.find("the checkpoint of %d events does not extend the one of %d verified %s: the log was rewritten", cp.Size, old.Size, st.VerifiedAt.Format(time.RFC3339))
		case err != nil:
			return cp, nil, err
		default:
			v.note("consistent with the checkpoint of %s verified %s", plural(old.Size, "event", "events"), st.VerifiedAt.Format(time.RFC3339))
		}
	}
	return cp, msg, nil
}

// shorter reports a checkpoint of fewer events than the one pinned: after a
// restore to an earlier point, the register lost what it published since.
// The missing positions are named, for their filers to re-file from their
// receipts.
func (v *verifier) shorter(cp translog.Checkpoint, pinned int64, pinnedNote, key string, verified time.Time) {
	witnessed := ""
	if len(v.witnesses) > 0 && pinnedNote != "" {
		if nv, err := note.NewVerifier(key); err == nil {
			if c, err := translog.OpenCosigned([]byte(pinnedNote), nv, v.witnesses); err == nil && len(c.Witnesses) > 0 {
				witnessed = ", cosigned by " + strings.Join(c.Witnesses, ", ")
			}
		}
	}
	missing := pinned - cp.Size
	v.find("the register's log holds %s; the checkpoint you pinned (verified %s%s) commits to %s: positions %s–%s (%s) are missing. "+
		"The register was restored to a point before that checkpoint, or lost them: restore it to a later point if there is one; "+
		"else their filers hold receipts (GET /log/events/{number}: the record and its inclusion proof in a checkpoint) from which to re-file them (docs/keys.md, \"After a restore\")",
		count(cp.Size, "entry", "entries"), verified.Format(time.RFC3339), witnessed, count(pinned, "entry", "entries"),
		group(cp.Size), group(pinned-1), count(missing, "event", "events"))
}

// count is plural with the thousands grouped.
func count(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return group(n) + " " + many
}

// group writes n with thousands separated by commas.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
