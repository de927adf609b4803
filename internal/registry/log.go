package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

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
	Size     int64
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

// PublishCheckpoint signs and stores a checkpoint of every committed event,
// unless the latest checkpoint already covers them all. It is called by the
// publisher at least once a second, and needs no caller. Before it signs, it
// proves that the new tree extends the last checkpoint signed (the one this
// process remembers, else the latest stored, checked with the key): a log
// rewritten in the database is refused a signature rather than certified.
func (s *Service) publishCheckpoint(ctx context.Context) (SignedCheckpoint, error) {
	if s.cfg.LogSigner == nil {
		return SignedCheckpoint{}, ErrNoLogKey
	}
	s.signedMu.Lock()
	defer s.signedMu.Unlock()
	n, err := s.store.LogSize(ctx)
	if err != nil {
		return SignedCheckpoint{}, err
	}
	latest, err := s.store.LatestCheckpoint(ctx)
	switch {
	case err == nil && latest.Size >= n:
		return latest, nil
	case err != nil && !errors.Is(err, ErrNotFound):
		return SignedCheckpoint{}, err
	}
	prev := s.signed
	if err == nil && latest.Size > prev.Size {
		v, verr := note.NewVerifier(s.cfg.LogVerifierKey)
		if verr != nil {
			return SignedCheckpoint{}, verr
		}
		if prev, err = translog.Open(latest.Note, v); err != nil {
			return SignedCheckpoint{}, fmt.Errorf("%w: the latest stored checkpoint: %v", ErrLogInconsistent, err)
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
	c := translog.Checkpoint{Origin: s.cfg.LogOrigin, Size: n, Root: root}
	msg, err := translog.Sign(c, s.cfg.LogSigner)
	if err != nil {
		return SignedCheckpoint{}, err
	}
	cp := SignedCheckpoint{Size: n, Note: msg, SignedAt: s.clock()}
	if err := s.store.InsertCheckpoint(ctx, cp); err != nil {
		return SignedCheckpoint{}, err
	}
	s.signed = c
	return cp, nil
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

// LogEntryView is a log entry as the API shows it.
type LogEntryView struct {
	Index    int64           `json:"index"`
	Record   []byte          `json:"record"`
	Event    json.RawMessage `json:"event"`
	LeafHash translog.Hash   `json:"leaf_hash"`
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
	size, err := s.store.LogSize(ctx)
	if err != nil {
		return LogEntryPage{}, err
	}
	var p problems
	lo := position(&p, "from", from, 0, size)
	hi := position(&p, "to", to, size, size)
	if err := p.err(); err != nil {
		return LogEntryPage{}, err
	}
	if hi < lo {
		return LogEntryPage{}, Invalid("to", CodeInvalidField, "must not be less than from")
	}
	end := min(hi, lo+maxLogPage)
	entries, err := s.store.LogEntries(ctx, lo, end)
	if err != nil {
		return LogEntryPage{}, err
	}
	page := LogEntryPage{Items: make([]LogEntryView, len(entries))}
	for i, e := range entries {
		page.Items[i] = LogEntryView{Index: e.LogIndex, Record: e.Record, Event: json.RawMessage(e.Record), LeafHash: e.LeafHash,
			Indexed: IndexedEvent{Number: e.Number, RegistrationNumber: e.RegistrationNumber, Type: e.Type, RegisteredAt: At(e.At)}}
		if !json.Valid(e.Record) {
			page.Items[i].Event = json.RawMessage("null")
		}
	}
	if end < hi {
		page.NextCursor = strconv.FormatInt(end, 10)
	}
	return page, nil
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
	// LatestCheckpoint is ErrNotFound before the first is published.
	LatestCheckpoint(ctx context.Context) (SignedCheckpoint, error)
	InsertCheckpoint(ctx context.Context, c SignedCheckpoint) error
}
