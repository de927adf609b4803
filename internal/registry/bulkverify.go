package registry

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/movable-registry/registry/internal/auth"
)

// A verifier of a large register reads the log in bulk: the records from
// the entry bundles, and from these two calls the columns the database
// files each event under (with the openings of its commitments), and a
// digest of each registration's state, which it compares with its own
// replay instead of fetching every registration.

// LogColumns is one event's columns and openings, without its record.
type LogColumns struct {
	Index    int64        `json:"index"`
	Indexed  IndexedEvent `json:"indexed"`
	Openings []Opening    `json:"openings,omitempty"`
}

// maxColumnsPage is the most events one page of columns holds.
const maxColumnsPage = 10000

// LogColumns returns the columns of the events at log positions from
// (inclusive) to to (exclusive, default the log's end), 10,000 a page.
func (s *Service) LogColumns(ctx context.Context, c Caller, from, to string) (Page[LogColumns], error) {
	if err := allow(c, auth.ReadLogEntries); err != nil {
		return Page[LogColumns]{}, err
	}
	size, err := s.store.LogSize(ctx)
	if err != nil {
		return Page[LogColumns]{}, err
	}
	var p problems
	lo := position(&p, "from", from, 0, size)
	hi := position(&p, "to", to, size, size)
	if err := p.err(); err != nil {
		return Page[LogColumns]{}, err
	}
	if hi < lo {
		return Page[LogColumns]{}, Invalid("to", CodeInvalidField, "must not be less than from")
	}
	end := min(hi, lo+maxColumnsPage)
	entries, err := s.store.LogEntries(ctx, lo, end)
	if err != nil {
		return Page[LogColumns]{}, err
	}
	page := Page[LogColumns]{Items: make([]LogColumns, len(entries))}
	for i, e := range entries {
		page.Items[i] = LogColumns{Index: e.LogIndex, Openings: e.Openings,
			Indexed: IndexedEvent{Number: e.Number, RegistrationNumber: e.RegistrationNumber, Type: e.Type, RegisteredAt: At(e.At)}}
	}
	if end < hi {
		page.NextCursor = strconv.FormatInt(end, 10)
	}
	return page, nil
}

// StateDigest is the digest of a registration as the API serves it to the
// registry's staff: SHA-256 of its JSON.
func StateDigest(r Registration) []byte {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err) // a Registration always encodes
	}
	h := sha256.Sum256(b)
	return h[:]
}

// RegistrationDigest is a registration's state by digest.
type RegistrationDigest struct {
	Number  string `json:"number"`
	Version int    `json:"version"`
	Digest  []byte `json:"digest"`
}

// maxStatePage is the most registrations one page of digests holds.
const maxStatePage = 5000

// LogState returns, in registration-number order after after, the digest
// of each registration replayed from its events among the log's first size
// (default: all), with the statuses that follow at instant at (RFC 3339,
// default now): what a verifier compares with its own replay.
func (s *Service) LogState(ctx context.Context, c Caller, after, size, at string) (Page[RegistrationDigest], error) {
	if err := allow(c, auth.ReadLogEntries); err != nil {
		return Page[RegistrationDigest]{}, err
	}
	n, err := s.store.LogSize(ctx)
	if err != nil {
		return Page[RegistrationDigest]{}, err
	}
	var p problems
	upTo := position(&p, "size", size, n, n)
	now := s.clock()
	if at != "" {
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			p.add("at", CodeInvalidField, "must be an RFC 3339 time")
		}
		now = t
	}
	if after != "" {
		if err := checkNumber("after", after); err != nil {
			p.prefixed("", err)
		}
	}
	if err := p.err(); err != nil {
		return Page[RegistrationDigest]{}, err
	}
	numbers, err := s.store.RegistrationNumbersAfter(ctx, after, maxStatePage)
	if err != nil {
		return Page[RegistrationDigest]{}, err
	}
	page := Page[RegistrationDigest]{Items: []RegistrationDigest{}}
	if len(numbers) == 0 {
		return page, nil
	}
	records, err := s.store.Events(ctx, numbers, farFuture)
	if err != nil {
		return Page[RegistrationDigest]{}, err
	}
	kept := records[:0]
	for _, r := range records {
		if r.LogIndex < upTo {
			kept = append(kept, r)
		}
	}
	regs, err := replay(kept)
	if err != nil {
		return Page[RegistrationDigest]{}, fmt.Errorf("%w: %v", ErrLogInconsistent, err)
	}
	for _, r := range regs {
		r = finish(r, now)
		page.Items = append(page.Items, RegistrationDigest{Number: r.Number, Version: r.Version, Digest: StateDigest(r)})
	}
	if len(numbers) == maxStatePage {
		page.NextCursor = numbers[len(numbers)-1]
	}
	return page, nil
}
