package registry

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"sync"
	"time"

	"github.com/movable-registry/registry/internal/auth"
)

// MaxBatchFilings is how many filings one bulk request may hold.
const MaxBatchFilings = 1000

// BatchOutcome is one filing (or change) of a bulk request: its
// registration, or why it was refused.
type BatchOutcome struct {
	Index        int
	Registration Registration
	Err          error
}

// ErrNotReached is a filing or change of a bulk request that the request's
// time ran out before: it was not made, and may be sent again.
var ErrNotReached = &UnavailableError{RetryAfter: time.Second,
	Reason: "the request's time ran out before this row was reached: it is not made; send it again (with the same Idempotency-Key, the rows made are answered as before)"}

// FileBatch files each of filings on its own, exactly as File would, and
// all at once, so that the sequencer batches them into few transactions.
// One refused leaves the others filed. With an Idempotency-Key, each filing
// is keyed by the request's key and its place, so that sending the same
// request again answers each with its first answer (and files what the
// first did not get to): the whole answer replays.
//
// When ctx has a deadline, no filing is begun in its last tenth (at least
// a second): those left are answered ErrNotReached, so that the answer
// still comes in time, and the filings begun before have time to end (or
// are cut, and refused as unavailable, at half that margin).
func (s *Service) FileBatch(ctx context.Context, c Caller, filings []Filing) ([]BatchOutcome, error) {
	if err := allow(c, auth.FileRegistration); err != nil {
		return nil, err
	}
	if len(filings) == 0 || len(filings) > MaxBatchFilings {
		return nil, BrokeMax("filings", RuleAtMost, "must hold 1 to 1,000 filings", MaxBatchFilings)
	}
	runs := make([][]int, len(filings))
	for i := range filings {
		runs[i] = []int{i}
	}
	return inTime(ctx, c, runs, func(ctx context.Context, one Caller, i int) (Registration, error) {
		return s.File(ctx, one, filings[i])
	}), nil
}

// inTime makes the rows of a bulk request, each as do makes it alone: the
// runs side by side (up to 64 at once), the rows of one run one after the
// other, in its order. Each row's caller carries, with an Idempotency-Key,
// a key of its own: the request's key and the row's place, so that the same
// request sent again answers each row as it was first answered.
//
// When ctx has a deadline, no run is begun in its last tenth (at least a
// second), nor a row of a run begun: those left are answered
// ErrNotReached, so that the answer still comes in time, and the rows
// begun before have time to end (or are cut, and refused as unavailable,
// at half that margin).
func inTime(ctx context.Context, c Caller, runs [][]int, do func(ctx context.Context, one Caller, i int) (Registration, error)) []BatchOutcome {
	n := 0
	for _, run := range runs {
		n += len(run)
	}
	out := make([]BatchOutcome, n)
	var late <-chan time.Time
	var lateAt time.Time
	if deadline, ok := ctx.Deadline(); ok {
		left := time.Until(deadline)
		// At least a second: half of it is what is left to cancel the
		// rows still waiting, roll them back and write the answer, on a
		// server that may be busy.
		margin := max(left/10, time.Second)
		lateAt = time.Now().Add(left - margin)
		timer := time.NewTimer(left - margin)
		defer timer.Stop()
		late = timer.C
		// A row begun in time that is still waiting (on a lock, on the
		// database) when half the margin is left ends then, refused 503
		// and rolled back, so that the answer still has time to go.
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-margin/2))
		defer cancel()
	}
	notReached := func(run []int) {
		for _, i := range run {
			out[i] = BatchOutcome{Index: i, Err: ErrNotReached}
		}
	}
	turns := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for k, run := range runs {
		select {
		case turns <- struct{}{}:
		case <-late:
			for _, rest := range runs[k:] {
				notReached(rest)
			}
			wg.Wait()
			return out
		}
		wg.Go(func() {
			defer func() { <-turns }()
			for j, i := range run {
				if j > 0 && !lateAt.IsZero() && !time.Now().Before(lateAt) {
					notReached(run[j:])
					return
				}
				one := c
				if key := c.Idempotency; key != nil {
					h := sha256.New()
					h.Write(key.Fingerprint)
					h.Write(binary.BigEndian.AppendUint32(nil, uint32(i)))
					one.Idempotency = &Idempotency{Key: key.Key + "#" + strconv.Itoa(i), Fingerprint: h.Sum(nil)}
				}
				reg, err := do(ctx, one, i)
				out[i] = BatchOutcome{Index: i, Registration: reg, Err: err}
			}
		})
	}
	wg.Wait()
	return out
}
