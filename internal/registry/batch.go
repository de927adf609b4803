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

// BatchOutcome is one filing of a bulk request: its registration, or why
// it was refused.
type BatchOutcome struct {
	Index        int
	Registration Registration
	Err          error
}

// ErrNotReached is a filing of a bulk request that the request's time ran
// out before: it was not filed, and may be sent again.
var ErrNotReached = &UnavailableError{RetryAfter: time.Second,
	Reason: "the request's time ran out before this filing was reached: it is not filed; send it again (with the same Idempotency-Key, the filed ones are answered as before)"}

// FileBatch files each of filings on its own, exactly as File would, and
// all at once, so that the sequencer batches them into few transactions.
// One refused leaves the others filed. With an Idempotency-Key, each filing
// is keyed by the request's key and its place, so that sending the same
// request again answers each with its first answer (and files what the
// first did not get to): the whole answer replays.
//
// When ctx has a deadline, no filing is begun in its last tenth (at least
// half a second): those left are answered ErrNotReached, so that the answer
// still comes in time, and the filings begun before have time to end (or
// are cut, and refused as unavailable, at half that margin).
func (s *Service) FileBatch(ctx context.Context, c Caller, filings []Filing) ([]BatchOutcome, error) {
	if err := allow(c, auth.FileRegistration); err != nil {
		return nil, err
	}
	if len(filings) == 0 || len(filings) > MaxBatchFilings {
		return nil, BrokeMax("filings", RuleAtMost, "must hold 1 to 1,000 filings", MaxBatchFilings)
	}
	out := make([]BatchOutcome, len(filings))
	var late <-chan time.Time
	if deadline, ok := ctx.Deadline(); ok {
		left := time.Until(deadline)
		margin := max(left/10, 500*time.Millisecond)
		timer := time.NewTimer(left - margin)
		defer timer.Stop()
		late = timer.C
		// A filing begun in time that is still waiting (on a lock, on
		// the database) when half the margin is left ends then, refused
		// 503 and rolled back, so that the answer still has time to go.
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-margin/2))
		defer cancel()
	}
	turns := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i := range filings {
		select {
		case turns <- struct{}{}:
		case <-late:
			for j := i; j < len(filings); j++ {
				out[j] = BatchOutcome{Index: j, Err: ErrNotReached}
			}
			wg.Wait()
			return out, nil
		}
		wg.Go(func() {
			defer func() { <-turns }()
			one := c
			if k := c.Idempotency; k != nil {
				h := sha256.New()
				h.Write(k.Fingerprint)
				h.Write(binary.BigEndian.AppendUint32(nil, uint32(i)))
				one.Idempotency = &Idempotency{Key: k.Key + "#" + strconv.Itoa(i), Fingerprint: h.Sum(nil)}
			}
			reg, err := s.File(ctx, one, filings[i])
			out[i] = BatchOutcome{Index: i, Registration: reg, Err: err}
		})
	}
	wg.Wait()
	return out, nil
}
