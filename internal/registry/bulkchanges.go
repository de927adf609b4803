package registry

import (
	"context"

	"github.com/movable-registry/registry/internal/auth"
)

// MaxBatchChanges is how many changes one bulk request may hold.
const MaxBatchChanges = 1000

// Change is one change of a bulk request: to the registration Number, at
// the version IfMatch names (any when empty), exactly one of an extension,
// a cancellation or an amendment.
type Change struct {
	Number       string        `json:"number"`
	IfMatch      string        `json:"if_match,omitempty"`
	Extension    *Extension    `json:"extension,omitempty"`
	Cancellation *Cancellation `json:"cancellation,omitempty"`
	Amendment    *Amendment    `json:"amendment,omitempty"`
}

// ChangeBatch makes each of changes on its own, exactly as Extend, Cancel
// or Amend would alone (the same checks, the same permission, its own event,
// audit entry, log leaf and notices), and side by side, so that the
// sequencer batches them into few transactions. One refused leaves the
// others made. Changes to the same registration are made one after the
// other, in the request's order; an If-Match then names the version the
// change before it left. With an Idempotency-Key the whole answer replays,
// as FileBatch's does, and the request's time is kept as FileBatch keeps it.
func (s *Service) ChangeBatch(ctx context.Context, c Caller, changes []Change) ([]BatchOutcome, error) {
	if err := allow(c, auth.ChangeRegistrations); err != nil {
		return nil, err
	}
	if len(changes) == 0 || len(changes) > MaxBatchChanges {
		return nil, BrokeMax("changes", RuleAtMost, "must hold 1 to 1,000 changes", MaxBatchChanges)
	}
	var runs [][]int
	byNumber := map[string]int{}
	for i, ch := range changes {
		k, seen := byNumber[ch.Number]
		if !seen {
			k = len(runs)
			byNumber[ch.Number] = k
			runs = append(runs, nil)
		}
		runs[k] = append(runs[k], i)
	}
	return inTime(ctx, c, runs, func(ctx context.Context, one Caller, i int) (Registration, error) {
		return s.makeChange(ctx, one, changes[i])
	}), nil
}

// makeChange makes one change of a bulk request as its own endpoint would.
func (s *Service) makeChange(ctx context.Context, c Caller, ch Change) (Registration, error) {
	pre := Precondition{IfMatch: ch.IfMatch}
	given := 0
	for _, set := range []bool{ch.Extension != nil, ch.Cancellation != nil, ch.Amendment != nil} {
		if set {
			given++
		}
	}
	switch {
	case given != 1:
		return Registration{}, Broke("extension", RuleOneChange, "give exactly one of extension, cancellation and amendment")
	case ch.Extension != nil:
		return s.Extend(ctx, c, ch.Number, pre, *ch.Extension)
	case ch.Cancellation != nil:
		return s.Cancel(ctx, c, ch.Number, pre, *ch.Cancellation)
	}
	return s.Amend(ctx, c, ch.Number, pre, *ch.Amendment)
}
