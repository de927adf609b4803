package registry

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"sync"

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

// FileBatch files each of filings on its own, exactly as File would, and
// all at once, so that the sequencer batches them into few transactions.
// One refused leaves the others filed. With an Idempotency-Key, each filing
// is keyed by the request's key and its place, so that sending the same
// request again answers each with its first answer (and files what the
// first did not get to): the whole answer replays.
func (s *Service) FileBatch(ctx context.Context, c Caller, filings []Filing) ([]BatchOutcome, error) {
	if err := allow(c, auth.FileRegistration); err != nil {
		return nil, err
	}
	if len(filings) == 0 || len(filings) > MaxBatchFilings {
		return nil, Broke("filings", RuleAtMost, "must hold 1 to 1,000 filings", "max", MaxBatchFilings)
	}
	out := make([]BatchOutcome, len(filings))
	turns := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i := range filings {
		turns <- struct{}{}
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
