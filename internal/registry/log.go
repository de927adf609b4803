package registry

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/translog"
)

// LogEntry is a registry event as the log holds it: the record, the columns
// the database finds it by, and the leaf hash stored for it.
type LogEntry struct {
	EventRecord
	LeafHash translog.Hash
}

// SignedCheckpoint is a published checkpoint: the signed note of the tree of
// the first Size events.
type SignedCheckpoint struct {
	Size int64
	// AuditSeq is the audit trail's head that the checkpoint commits to.
	AuditSeq int64
	Note     []byte
	SignedAt time.Time
}

// LogKey is the note verifier key that checks the registry's checkpoints.
func (s *Service) LogKey(c Caller) (string, error) {
	if err := allow(c, auth.ReadLogKey); err != nil {
		return "", err
	}
	if s.cfg.LogSigner == nil {
		return "", ErrNoLogKey
	}
	return s.cfg.LogVerifierKey, nil
}

// LogKeys are the verifier keys that check the registry's checkpoints: the
// current one, and during a rotation the previous one, which signs each
// checkpoint too until the operator drops it.
type LogKeys struct {
	Key         string `json:"key"`
	PreviousKey string `json:"previous_key,omitempty"`
}

// LogKeys returns the verifier keys.
func (s *Service) LogKeys(c Caller) (LogKeys, error) {
	key, err := s.LogKey(c)
	if err != nil {
		return LogKeys{}, err
	}
	return LogKeys{Key: key, PreviousKey: s.cfg.LogPreviousVerifierKey}, nil
}

// PublishCheckpoint signs a checkpoint of the log as it stands, on one
// instance at a time across all that share the database (the others
// answer with the latest stored one): checkpoints extend each other.
func (s *Service) PublishCheckpoint(ctx context.Context) (SignedCheckpoint, error) {
	var cp SignedCheckpoint
	ran, err := s.store.Exclusive(ctx, "registry: sign checkpoints", func() error {
		var err error
		cp, err = s.publishCheckpoint(ctx)
		return err
	})
	if err != nil || ran {
		return cp, err
	}
	cp, err = s.store.LatestCheckpoint(ctx)
	if errors.Is(err, ErrNotFound) {
		return SignedCheckpoint{}, nil
	}
	return cp, err
}

// PublishCheckpoint signs and stores a checkpoint of every committed event
// and of the audit trail's head, unless the latest checkpoint already covers
// them. It is called by the publisher at least once a second, and needs no
// caller. Before it signs, it proves that the new tree extends the last
// checkpoint signed (the one this process remembers, else the latest
// stored, checked with the key), and that the audit trail since that
// checkpoint's head chains from it: a log or trail rewritten in the
// database is refused a signature rather than certified. Witnesses are then
// asked to cosign it.
func (s *Service) publishCheckpoint(ctx context.Context) (SignedCheckpoint, error) {
	if s.cfg.LogSigner == nil {
		return SignedCheckpoint{}, ErrNoLogKey
	}
	if m := s.keyMismatch.Load(); m != nil {
		// Signing would fail the same way every time: not tried again.
		return SignedCheckpoint{}, m
	}
	s.signedMu.Lock()
	defer s.signedMu.Unlock()
	n, err := s.store.LogSize(ctx)
	if err != nil {
		return SignedCheckpoint{}, err
	}
	head, err := s.store.AuditHead(ctx)
	if err != nil {
		return SignedCheckpoint{}, err
	}
	latest, err := s.store.LatestCheckpoint(ctx)
	if err == nil && s.cfg.LogPreviousSigner != nil && !s.rotationChecked {
		if head, err = s.recordRotation(ctx, latest, head); err != nil {
			return SignedCheckpoint{}, err
		}
	}
	switch {
	case err == nil && latest.Size >= n && latest.AuditSeq >= head.Seq:
		return latest, nil
	case err != nil && !errors.Is(err, ErrNotFound):
		return SignedCheckpoint{}, err
	}
	prev := s.signed
	if err == nil && (latest.Size > prev.Size || latest.Size == prev.Size && latest.AuditSeq > auditSeqOf(prev)) {
		if prev, _, err = s.openStored(latest); err != nil {
			return SignedCheckpoint{}, err
		}
	}
	root, err := translog.TreeHash(ctx, s.store, n)
	if err != nil {
		return SignedCheckpoint{}, err
	}
	if prev.Size > 0 {
		p, err := translog.ProveConsistency(ctx, s.store, prev.Size, n)
		if err != nil {
			return SignedCheckpoint{}, err
		}
		if err := tlog.CheckTree(p.Proof, n, root, prev.Size, prev.Root); err != nil {
			return SignedCheckpoint{}, fmt.Errorf("%w: the tree of %d events does not extend the checkpoint of %d (%v)", ErrLogInconsistent, n, prev.Size, err)
		}
	}
	if err := s.auditExtends(ctx, prev, head); err != nil {
		return SignedCheckpoint{}, err
	}
	c := translog.Checkpoint{Origin: s.cfg.LogOrigin, Size: n, Root: root, Extensions: []string{head.Extension()}}
	signers := []note.Signer{s.cfg.LogSigner}
	if s.cfg.LogPreviousSigner != nil {
		// While the previous key is configured, both keys sign, and the
		// checkpoint names the new key: a reader who trusts the old key
		// learns the new one from a text the old key signed.
		signers = append(signers, s.cfg.LogPreviousSigner)
		c.Extensions = append(c.Extensions, LogKeyExtension+" "+s.cfg.LogVerifierKey)
	}
	msg, err := translog.Sign(c, signers...)
	if err != nil {
		return SignedCheckpoint{}, err
	}
	msg = s.cosign(ctx, c, msg)
	cp := SignedCheckpoint{Size: n, AuditSeq: head.Seq, Note: msg, SignedAt: s.clock()}
	if err := s.store.InsertCheckpoint(ctx, cp); err != nil {
		return SignedCheckpoint{}, err
	}
	s.signed = c
	return cp, nil
}

// recordRotation, the first time this process signs with a previous key
// configured, audits the rotation when the register's latest checkpoint is
// signed by the previous key alone, and returns the audit head after it: the
// first checkpoint signed by both keys then commits to the entry that
// records the rotation (and differs from the latest even when nothing else
// happened since).
func (s *Service) recordRotation(ctx context.Context, latest SignedCheckpoint, head AuditHead) (AuditHead, error) {
	_, rotating, err := s.openStored(latest)
	if err != nil || !rotating {
		s.rotationChecked = err == nil
		return head, err
	}
	from, to := keyID(s.cfg.LogPreviousVerifierKey), keyID(s.cfg.LogVerifierKey)
	e := s.entry(system, auth.RotateLogKey, to, s.clock())
	e.Detail = fmt.Sprintf("checkpoints after the one of %d events are signed by the new key %s and by the previous key %s, which signed the register until now", latest.Size, to, from)
	if err := s.store.InsertAudit(ctx, e); err != nil {
		return head, err
	}
	s.rotationChecked = true
	return s.store.AuditHead(ctx)
}

// LogKeyExtension is the key of the checkpoint's extension line that names
// the log's new verifier key while checkpoints are signed by both the new
// and the previous key: "log-key <verifier key>".
const LogKeyExtension = "log-key"

// keyID is a verifier key's "name+hash", as signature lines name it.
func keyID(vkey string) string {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) < 2 {
		return vkey
	}
	return parts[0] + "+" + parts[1]
}

// openStored checks a stored checkpoint's signature with the configured
// key, else (during a rotation) the previous one, and reads it; rotating is
// true when only the previous key signed it. Signed by neither, the
// register was signed by another key than this instance has: a
// *LogKeyMismatch, remembered, and the instance signs nothing more.
func (s *Service) openStored(latest SignedCheckpoint) (cp translog.Checkpoint, rotating bool, err error) {
	v, err := note.NewVerifier(s.cfg.LogVerifierKey)
	if err != nil {
		return translog.Checkpoint{}, false, err
	}
	cp, err = translog.Open(latest.Note, v)
	if err == nil || !unverified(err) {
		// A bad signature by this very key is a rewritten checkpoint, not a
		// key mix-up.
		if err != nil {
			err = fmt.Errorf("%w: the latest stored checkpoint: %v", ErrLogInconsistent, err)
		}
		return cp, false, err
	}
	configured := []string{keyID(s.cfg.LogVerifierKey)}
	if s.cfg.LogPreviousVerifierKey != "" {
		pv, perr := note.NewVerifier(s.cfg.LogPreviousVerifierKey)
		if perr != nil {
			return translog.Checkpoint{}, false, perr
		}
		cp, perr = translog.Open(latest.Note, pv)
		switch {
		case perr == nil:
			return cp, true, nil
		case !unverified(perr):
			return cp, false, fmt.Errorf("%w: the latest stored checkpoint: %v", ErrLogInconsistent, perr)
		}
		configured = append(configured, keyID(s.cfg.LogPreviousVerifierKey)+" (previous)")
	}
	// Witnesses' cosignatures are named for the witnesses: the rest are the
	// log's.
	var signed []string
	for _, k := range translog.Signatures(latest.Note) {
		if !slices.ContainsFunc(s.cfg.Witnesses, func(w Witness) bool { return strings.HasPrefix(k, w.Name()+"+") }) {
			signed = append(signed, k)
		}
	}
	m := &LogKeyMismatch{Size: latest.Size, Signed: signed, Configured: configured}
	s.keyMismatch.CompareAndSwap(nil, m)
	return translog.Checkpoint{}, false, m
}

// unverified is a note that reads well but carries no signature by the key
// it was checked with.
func unverified(err error) bool {
	var u *note.UnverifiedNoteError
	return errors.As(err, &u)
}

// CheckLogKey compares the configured log key with the one that signed the
// register's latest checkpoint, as registryd starts: a *LogKeyMismatch when
// they differ, after which the instance is not ready and signs nothing.
func (s *Service) CheckLogKey(ctx context.Context) error {
	if s.cfg.LogSigner == nil {
		return nil
	}
	latest, err := s.store.LatestCheckpoint(ctx)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	_, _, err = s.openStored(latest)
	if errors.Is(err, ErrLogKeyMismatch) {
		return err
	}
	// Anything else (a rewritten checkpoint) the signer finds and reports.
	return nil
}

// AuditHead is the audit trail's newest entry as a checkpoint commits to it:
// its id and its chain value.
type AuditHead struct {
	Seq   int64
	Chain []byte
}

// AuditExtension is the key of the checkpoint's extension line that holds
// the audit trail's head: "audit <id> <chain, base64>".
const AuditExtension = "audit"

// Extension is the head's extension line.
func (h AuditHead) Extension() string {
	return fmt.Sprintf("%s %d %s", AuditExtension, h.Seq, base64.StdEncoding.EncodeToString(h.Chain))
}

// AuditHeadOf reads the audit head a checkpoint commits to; ok is false for
// a checkpoint without one (signed before heads were committed).
func AuditHeadOf(c translog.Checkpoint) (h AuditHead, ok bool, err error) {
	v, ok := c.Extension(AuditExtension)
	if !ok {
		return AuditHead{}, false, nil
	}
	seq, chain, found := strings.Cut(v, " ")
	n, perr := strconv.ParseInt(seq, 10, 64)
	b, berr := base64.StdEncoding.DecodeString(chain)
	if !found || perr != nil || n < 0 || berr != nil || len(b) != 32 {
		return AuditHead{}, true, fmt.Errorf("the checkpoint's audit line %q cannot be read", v)
	}
	return AuditHead{Seq: n, Chain: b}, true, nil
}

func auditSeqOf(c translog.Checkpoint) int64 {
	h, _, _ := AuditHeadOf(c)
	return h.Seq
}

// auditExtends checks that the audit trail up to head follows from the
// head prev committed to: the entries since then chain from its value.
func (s *Service) auditExtends(ctx context.Context, prev translog.Checkpoint, head AuditHead) error {
	ph, ok, err := AuditHeadOf(prev)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %v", ErrLogInconsistent, err)
	case !ok:
		return nil
	case head.Seq < ph.Seq:
		return fmt.Errorf("%w: the audit trail's head is entry %d, behind entry %d that the last checkpoint signed", ErrLogInconsistent, head.Seq, ph.Seq)
	case head.Seq == ph.Seq && !bytes.Equal(head.Chain, ph.Chain):
		return fmt.Errorf("%w: audit entry %d has another chain value than the last checkpoint signed", ErrLogInconsistent, head.Seq)
	}
	chain, next := ph.Chain, ph.Seq+1
	err = s.store.AuditAfter(ctx, ph.Seq, head.Seq, func(r audit.Record) error {
		if r.ID != next {
			return fmt.Errorf("%w: audit entry %d is missing", ErrLogInconsistent, next)
		}
		chain, next = audit.Chain(chain, r.ID, r.Entry), next+1
		if !bytes.Equal(chain, r.Chain) {
			return fmt.Errorf("%w: audit entry %d does not chain from the head the last checkpoint signed (entry %d)", ErrLogInconsistent, r.ID, ph.Seq)
		}
		return nil
	})
	switch {
	case err != nil:
		return err
	case next != head.Seq+1:
		return fmt.Errorf("%w: audit entries %d to %d are missing", ErrLogInconsistent, next, head.Seq)
	}
	return nil
}

// cosign asks every witness, at once, to cosign checkpoint c (signed as
// msg), and returns msg with the cosignatures that came in time.
func (s *Service) cosign(ctx context.Context, c translog.Checkpoint, msg []byte) []byte {
	if len(s.cfg.Witnesses) == 0 {
		return msg
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.WitnessTimeout)
	defer cancel()
	sigs := make([][]byte, len(s.cfg.Witnesses))
	var wg sync.WaitGroup
	for i, w := range s.cfg.Witnesses {
		wg.Go(func() {
			var err error
			sigs[i], err = s.askWitness(ctx, w, c, msg)
			if s.cfg.OnWitness != nil {
				s.cfg.OnWitness(w.Name(), err)
			}
		})
	}
	wg.Wait()
	for _, sig := range sigs {
		msg = translog.AddSignatures(msg, sig)
	}
	return msg
}

// askWitness sends one witness checkpoint c with a proof from the size it
// cosigned last; told another size (a 409), it asks once more from that.
func (s *Service) askWitness(ctx context.Context, w Witness, c translog.Checkpoint, msg []byte) ([]byte, error) {
	s.witnessMu.Lock()
	old := s.witnessed[w.Name()]
	s.witnessMu.Unlock()
	for range 2 {
		if old > c.Size {
			return nil, fmt.Errorf("%w: witness %s cosigned a checkpoint of %d events, more than the log's %d", ErrLogInconsistent, w.Name(), old, c.Size)
		}
		var proof []translog.Hash
		if old > 0 && old < c.Size {
			p, err := translog.ProveConsistency(ctx, s.store, old, c.Size)
			if err != nil {
				return nil, err
			}
			proof = p.Proof
		}
		sig, err := w.AddCheckpoint(ctx, translog.AddCheckpoint{OldSize: old, Proof: proof, Note: msg})
		var conflict *translog.WitnessConflict
		if errors.As(err, &conflict) && conflict.Size != old {
			old = conflict.Size
			continue
		}
		if err != nil {
			return nil, err
		}
		s.witnessMu.Lock()
		s.witnessed[w.Name()] = c.Size
		s.witnessMu.Unlock()
		return sig, nil
	}
	return nil, fmt.Errorf("witness %s: its size kept changing", w.Name())
}

// Witness cosigns checkpoints: a client of a C2SP tlog-witness.
type Witness interface {
	Name() string
	// AddCheckpoint returns the witness's cosignature lines, or a
	// *translog.WitnessConflict naming the size it cosigned last.
	AddCheckpoint(ctx context.Context, req translog.AddCheckpoint) ([]byte, error)
}

// Checkpoint returns the latest signed checkpoint.
func (s *Service) Checkpoint(ctx context.Context, c Caller) (SignedCheckpoint, error) {
	if err := allow(c, auth.ReadCheckpoint); err != nil {
		return SignedCheckpoint{}, err
	}
	cp, err := s.store.LatestCheckpoint(ctx)
	if errors.Is(err, ErrNotFound) {
		// Nothing published yet (a fresh register): publish the first.
		return s.PublishCheckpoint(ctx)
	}
	return cp, err
}

// LogEntryPage is one page of the log's entries.
type LogEntryPage = Page[LogEntryView]

// LogEntryView is a log entry as the API shows it: the record the log
// commits to, the event in full, and the openings of the record's
// commitments (none for an event that names no individual).
type LogEntryView struct {
	Index    int64           `json:"index"`
	Record   []byte          `json:"record"`
	Event    json.RawMessage `json:"event"`
	Openings []Opening       `json:"openings"`
	LeafHash translog.Hash   `json:"leaf_hash"`
	// ErasedAt is when the personal data of the individuals the event names
	// was erased (retention.go): Event and Openings no longer hold it, and
	// a verifier erases it from the record it replays.
	ErasedAt *Time `json:"erased_at,omitempty"`
	// Indexed is what the database finds the event by (searches as of an
	// instant use registered_at), which must agree with the record.
	Indexed IndexedEvent `json:"indexed"`
}

// IndexedEvent is an event's columns beside its record.
type IndexedEvent struct {
	Number             string `json:"number"`
	RegistrationNumber string `json:"registration_number"`
	Type               string `json:"type"`
	RegisteredAt       Time   `json:"registered_at"`
}

// maxLogPage is the most entries one page of the log holds.
const maxLogPage = 1000

// LogEntries returns the events at log positions from (inclusive) to to
// (exclusive, default: the end of the log), at most 1,000 a page.
func (s *Service) LogEntries(ctx context.Context, c Caller, from, to string) (LogEntryPage, error) {
	if err := allow(c, auth.ReadLogEntries); err != nil {
		return LogEntryPage{}, err
	}
	lo, end, next, err := s.logRange(ctx, from, to, maxLogPage)
	if err != nil {
		return LogEntryPage{}, err
	}
	// Read a few entries at a time up to about listReadBytes: one entry
	// can be hundreds of KB (a registration of a thousand items).
	var entries []LogEntry
	for at, read := lo, 0; at < end; {
		chunk, err := s.store.LogEntries(ctx, at, min(end, at+16))
		if err != nil {
			return LogEntryPage{}, err
		}
		entries = append(entries, chunk...)
		at = min(end, at+16)
		for _, e := range chunk {
			read += 2 * len(e.Record) // the event, and the record in base64
		}
		if read > listReadBytes && at < end {
			next = strconv.FormatInt(at, 10)
			break
		}
	}
	page := LogEntryPage{Items: make([]LogEntryView, len(entries)), NextCursor: next,
		after: func(e LogEntryView) string { return strconv.FormatInt(e.Index+1, 10) }}
	for i, e := range entries {
		page.Items[i] = LogEntryView{Index: e.LogIndex, Record: e.Leaf(), Event: json.RawMessage(e.Record), Openings: nonNilOpenings(e.Openings), LeafHash: e.LeafHash,
			ErasedAt: erasedAt(e.EventRecord), Indexed: indexedOf(e.EventRecord)}
		if !json.Valid(e.Record) {
			page.Items[i].Event = json.RawMessage("null")
		}
	}
	return page, nil
}

// logRange reads a page's log positions from query parameters: from
// (default 0) and to (default the log's end), at most most of them. It
// returns the page's first position and the one past its last, and the
// cursor of the next page ("" for the last).
func (s *Service) logRange(ctx context.Context, from, to string, most int64) (lo, end int64, next string, err error) {
	size, err := s.store.LogSize(ctx)
	if err != nil {
		return 0, 0, "", err
	}
	var p problems
	lo = position(&p, "from", from, 0, size)
	hi := position(&p, "to", to, size, size)
	if err := p.err(); err != nil {
		return 0, 0, "", err
	}
	if hi < lo {
		return 0, 0, "", Invalid("to", CodeInvalidField, "must not be less than from")
	}
	end = min(hi, lo+most)
	if end < hi {
		next = strconv.FormatInt(end, 10)
	}
	return lo, end, next, nil
}

// indexedOf is what the database files an event under.
func indexedOf(e EventRecord) IndexedEvent {
	return IndexedEvent{Number: e.Number, RegistrationNumber: e.RegistrationNumber, Type: e.Type, RegisteredAt: At(e.At)}
}

// position reads a log position from a query parameter: a whole number from 0
// to max, or def when absent.
func position(p *problems, field, v string, def, max int64) int64 {
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != v {
		p.add(field, CodeInvalidField, "must be a whole number, 0 or more")
		return def
	}
	if n > max {
		p.add(field, CodeInvalidField, fmt.Sprintf("the log holds %d entries", max))
		return def
	}
	return n
}

// InclusionProof proves that the tree of size (default: the latest
// checkpoint's) holds the event at index.
func (s *Service) InclusionProof(ctx context.Context, c Caller, index, size string) (translog.InclusionProof, error) {
	if err := allow(c, auth.ReadLogProof); err != nil {
		return translog.InclusionProof{}, err
	}
	n, def, err := s.proofBounds(ctx)
	if err != nil {
		return translog.InclusionProof{}, err
	}
	var p problems
	if index == "" {
		p.broke("index", RuleRequired, "is required")
	}
	i := position(&p, "index", index, 0, n)
	t := position(&p, "size", size, def, n)
	if err := p.err(); err != nil {
		return translog.InclusionProof{}, err
	}
	if i >= t {
		return translog.InclusionProof{}, Invalid("index", CodeInvalidField, fmt.Sprintf("must be less than size (%d)", t))
	}
	return translog.ProveInclusion(ctx, s.store, i, t)
}

// ConsistencyProof proves that the tree of size to (default: the latest
// checkpoint's) extends the tree of size from.
func (s *Service) ConsistencyProof(ctx context.Context, c Caller, from, to string) (translog.ConsistencyProof, error) {
	if err := allow(c, auth.ReadLogProof); err != nil {
		return translog.ConsistencyProof{}, err
	}
	n, def, err := s.proofBounds(ctx)
	if err != nil {
		return translog.ConsistencyProof{}, err
	}
	var p problems
	if from == "" {
		p.broke("from", RuleRequired, "is required")
	}
	lo := position(&p, "from", from, 1, n)
	hi := position(&p, "to", to, def, n)
	if err := p.err(); err != nil {
		return translog.ConsistencyProof{}, err
	}
	switch {
	case lo < 1:
		return translog.ConsistencyProof{}, Invalid("from", CodeInvalidField, "must be at least 1: every tree extends the empty one")
	case lo > hi:
		return translog.ConsistencyProof{}, Invalid("from", CodeInvalidField, fmt.Sprintf("must not be more than to (%d)", hi))
	}
	return translog.ProveConsistency(ctx, s.store, lo, hi)
}

// proofBounds returns the committed log size, which proofs may not pass, and
// the latest checkpoint's size, which they are made against by default.
func (s *Service) proofBounds(ctx context.Context) (size, checkpoint int64, err error) {
	size, err = s.store.LogSize(ctx)
	if err != nil {
		return 0, 0, err
	}
	cp, err := s.store.LatestCheckpoint(ctx)
	switch {
	case errors.Is(err, ErrNotFound):
		return size, size, nil
	case err != nil:
		return 0, 0, err
	}
	return size, cp.Size, nil
}

// LogStore reads the Merkle log and keeps its signed checkpoints.
type LogStore interface {
	// ReadHashes reads the log's stored hashes by tlog storage index.
	ReadHashes(ctx context.Context, indexes []int64) ([]translog.Hash, error)
	// LogSize is the number of events committed.
	LogSize(ctx context.Context) (int64, error)
	LogEntries(ctx context.Context, from, to int64) ([]LogEntry, error)
	// LogColumns is LogEntries without the records and leaf hashes.
	LogColumns(ctx context.Context, from, to int64) ([]EventRecord, error)
	// LogLeaves returns the leaf records from..to-1, in order.
	LogLeaves(ctx context.Context, from, to int64) ([][]byte, error)
	// LatestCheckpoint is ErrNotFound before the first is published.
	LatestCheckpoint(ctx context.Context) (SignedCheckpoint, error)
	InsertCheckpoint(ctx context.Context, c SignedCheckpoint) error
	// RegistrationNumbersAfter lists up to limit registration numbers after
	// after, in order.
	RegistrationNumbersAfter(ctx context.Context, after string, limit int) ([]string, error)
	// AuditHead is the audit trail's newest committed entry.
	AuditHead(ctx context.Context) (AuditHead, error)
	// AuditAfter calls fn with the audit entries after id after, up to and
	// including upTo, oldest first.
	AuditAfter(ctx context.Context, after, upTo int64, fn func(audit.Record) error) error
}

// tileWithin reads a C2SP tile path and checks that the latest checkpoint
// covers the tile: what it holds is then fixed for good (and durable, since
// a checkpoint is stored only after the events it covers).
func (s *Service) tileWithin(ctx context.Context, path string, bundle bool) (translog.Tile, error) {
	t, err := translog.ParseTilePath(path)
	if err != nil || (t.L == -1) != bundle {
		return translog.Tile{}, ErrNotFound
	}
	cp, err := s.store.LatestCheckpoint(ctx)
	if errors.Is(err, ErrNotFound) || err == nil && translog.TileEnd(t) > cp.Size {
		return translog.Tile{}, ErrNotFound
	}
	return t, err
}

// LogTile returns a hash tile of the log (C2SP tlog-tiles): anyone may read
// the tree's hashes, which say nothing of the records but their digests.
func (s *Service) LogTile(ctx context.Context, c Caller, path string) ([]byte, error) {
	if err := allow(c, auth.ReadLogTiles); err != nil {
		return nil, err
	}
	t, err := s.tileWithin(ctx, path, false)
	if err != nil {
		return nil, err
	}
	return translog.ReadTile(ctx, s.store, t)
}

// ErrEntryTooLarge is a record too long for an entry bundle's two-byte
// length; /log/entries serves it.
var ErrEntryTooLarge = errors.New("a record in this bundle is longer than an entry bundle can hold")

// LogBundle returns an entry bundle of the log (C2SP tlog-tiles): the
// records themselves, for those who may read the log's entries.
func (s *Service) LogBundle(ctx context.Context, c Caller, path string) ([]byte, error) {
	if err := allow(c, auth.ReadLogEntries); err != nil {
		return nil, err
	}
	t, err := s.tileWithin(ctx, path, true)
	if err != nil {
		return nil, err
	}
	from := t.N * translog.TileWidth
	records, err := s.store.LogLeaves(ctx, from, from+int64(t.W))
	if err != nil {
		return nil, err
	}
	if len(records) != t.W {
		// Entries missing from the database: /log/entries serves what is
		// left, for a verifier to find the gap.
		return nil, fmt.Errorf("%w: the log holds %d of the %d entries from %d", ErrNotFound, len(records), t.W, from)
	}
	size := 0
	for _, r := range records {
		size += 2 + len(r)
	}
	bundle := make([]byte, 0, size)
	for i, r := range records {
		if bundle, err = translog.AppendBundleEntry(bundle, r); err != nil {
			return nil, fmt.Errorf("%w: entry %d holds %d bytes (read it from /log/entries)", ErrEntryTooLarge, from+int64(i), len(r))
		}
	}
	return bundle, nil
}

func nonNilOpenings(o []Opening) []Opening {
	if o == nil {
		return []Opening{}
	}
	return o
}

// LogEvent is one event's entry in the log as the organization that filed it
// (or a party, or the registry's staff) checks it: the record the log
// commits to, the openings of its commitments, and its inclusion proof
// against a signed checkpoint, which may carry witnesses' cosignatures.
type LogEvent struct {
	Index    int64         `json:"index"`
	Number   string        `json:"number"`
	Record   []byte        `json:"record"`
	LeafHash translog.Hash `json:"leaf_hash"`
	// Openings are given to the registry's staff and to the organization
	// that filed the event, who supplied the numbers; others get none.
	Openings []Opening `json:"openings"`
	// ErasedAt is when the personal data of the individuals it names was
	// erased: the openings are gone since.
	ErasedAt   *Time                   `json:"erased_at,omitempty"`
	Checkpoint string                  `json:"checkpoint"`
	Inclusion  translog.InclusionProof `json:"inclusion"`
}

// LogEvent returns the log entry of event number (an event's own number),
// with what proves it is in the log. Its filer's organization, the
// registration's parties and controller, and the registry's staff may read
// it; to anyone else it does not exist.
func (s *Service) LogEvent(ctx context.Context, c Caller, number string) (LogEvent, error) {
	if err := allow(c, auth.ReadLogEvent); err != nil {
		return LogEvent{}, err
	}
	r, err := s.replayed(ctx, number)
	if err != nil {
		return LogEvent{}, err
	}
	i := slices.IndexFunc(r.History, func(h HistoryEntry) bool { return h.Number == number })
	if i < 0 {
		return LogEvent{}, ErrNotFound
	}
	h := r.History[i]
	staff := c.Has(auth.Auditor) || c.Has(auth.Admin)
	filer := c.OrganizationID != "" && h.By.OrganizationID == c.OrganizationID
	if !staff && !filer && !isPartyOrController(c, r) {
		return LogEvent{}, ErrNotFound
	}
	entries, err := s.store.LogEntries(ctx, h.LogIndex, h.LogIndex+1)
	if err != nil {
		return LogEvent{}, err
	}
	if len(entries) != 1 {
		return LogEvent{}, fmt.Errorf("%w: event %s is not at log position %d", ErrLogInconsistent, number, h.LogIndex)
	}
	e := entries[0]
	cp, err := s.store.LatestCheckpoint(ctx)
	if errors.Is(err, ErrNotFound) || err == nil && cp.Size <= e.LogIndex {
		// Filed since the last checkpoint: sign one now.
		cp, err = s.PublishCheckpoint(ctx)
	}
	if err != nil {
		return LogEvent{}, err
	}
	if cp.Size <= e.LogIndex {
		return LogEvent{}, &UnavailableError{RetryAfter: time.Second, Reason: "the event is not yet in a signed checkpoint"}
	}
	proof, err := translog.ProveInclusion(ctx, s.store, e.LogIndex, cp.Size)
	if err != nil {
		return LogEvent{}, err
	}
	out := LogEvent{Index: e.LogIndex, Number: e.Number, Record: e.Leaf(), LeafHash: e.LeafHash, Openings: []Opening{},
		ErasedAt: erasedAt(e.EventRecord), Checkpoint: string(cp.Note), Inclusion: proof}
	if staff || filer {
		out.Openings = nonNilOpenings(e.Openings)
	}
	return out, nil
}
