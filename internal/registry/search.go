package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/identity"
)

// Search runs a search, stores it under a certificate number with exactly the
// answer it gave, and returns the number and that answer's bytes.
func (s *Service) Search(ctx context.Context, c Caller, req SearchRequest) (number string, body []byte, err error) {
	if err := allow(c, auth.Search); err != nil {
		return "", nil, err
	}
	q, mixedScripts, err := req.Criteria.query()
	if err != nil {
		return "", nil, err
	}
	if req.Criteria.IDNumber != "" {
		if err := s.takeIDNumberSearch(ctx, c); err != nil {
			return "", nil, err
		}
	}
	if req.AsOf != nil {
		asOf := req.AsOf.UTC().Truncate(time.Microsecond)
		if asOf.After(s.clock()) {
			return "", nil, Broke("as_of", RuleFuture, "may not be in the future")
		}
		req.AsOf = &asOf
	}
	var warnings []Warning
	if mixedScripts {
		warnings = append(warnings, Warning{Code: "mixed_scripts", Message: "the name mixes letters of different alphabets (for example a Cyrillic а among Latin letters); only names written with the same letters match"})
	}
	// Similar names are advice, not part of the certified result: they are
	// looked for before the search is sequenced (as of its as_of, or of
	// this moment), so that they never hold a batch of writes open.
	var similar []string
	if q.NameKey != "" {
		asOf := s.clock()
		if req.AsOf != nil {
			asOf = *req.AsOf
		}
		sq := SimilarQuery{Name: req.Criteria.GrantorName, Key: q.NameKey, AsOf: asOf, IncludeInactive: req.IncludeInactive}
		if similar, err = s.store.SimilarNames(ctx, sq, s.cfg.SimilarNames); err != nil {
			return "", nil, err
		}
	}
	var answer struct {
		Number string `json:"number"`
		Body   []byte `json:"body"`
	}
	kind := StampSearchAsOf
	if c.Idempotency != nil && c.scope() != "" {
		kind = StampSearch
	}
	err = s.store.Sequence(ctx, kind, func(tx Tx, st Stamp) error {
		return s.once(ctx, tx, c, st.At, &answer, func() error {
			var err error
			answer.Number, answer.Body, err = s.search(ctx, tx, c, st, q, req, warnings, similar)
			return err
		})
	})
	return answer.Number, answer.Body, replayed(err)
}

// search runs a search as of its stamp (on the committed register, or, for
// a search with an idempotency key, in its batch's transaction) and stores
// its certificate and audit entry: the first page of what it found, and
// what later pages are made from.
func (s *Service) search(ctx context.Context, tx Tx, c Caller, st Stamp, q Query, req SearchRequest, warnings []Warning, similar []string) (number string, body []byte, err error) {
	cert := SearchCertificate{
		Number: st.Number, SearchedAt: At(st.At), AsOf: At(st.At), Criteria: req.Criteria,
		IncludeInactive: req.IncludeInactive, RegisterPosition: st.LogSize,
		Results: []SearchResult{}, SimilarNames: []string{}, Warnings: warnings,
	}
	asOf := st.At
	if req.AsOf != nil && req.AsOf.Before(st.At) {
		asOf, cert.AsOf = *req.AsOf, At(*req.AsOf)
		n, err := tx.LogSizeAt(ctx, asOf)
		if err != nil {
			return "", nil, err
		}
		cert.RegisterPosition = n
	}
	q.AsOf = asOf
	// A search by number shows its registration whatever its status.
	q.Inactive = req.IncludeInactive || req.Criteria.RegistrationNumber != ""
	matches, events, err := tx.FindRegistrations(ctx, q, replayChunk)
	if err != nil {
		return "", nil, err
	}
	cert.ResultCount = len(matches)
	results, next, err := s.page(ctx, tx, c, matches, 0, asOf, events)
	if err != nil {
		return "", nil, err
	}
	cert.Results = results
	stored := StoredSearch{Number: st.Number, OrganizationID: c.OrganizationID}
	if next < len(matches) {
		// The rest is paged from the stored search, as the searcher saw it.
		cert.Truncated, cert.NextCursor = true, strconv.Itoa(next)
		stored.Truncated, stored.Matches = true, matches
		stored.ViewerUSCC, stored.ViewerStaff = c.OrganizationUSCC, c.Has(auth.Auditor) || c.Has(auth.Admin)
	}
	if similar != nil {
		cert.SimilarNames = similar
	}
	number, body = st.Number, canonical(cert)
	stored.Body = body
	if err := tx.InsertSearch(ctx, &cert, stored, c.UserID); err != nil {
		return "", nil, err
	}
	e := s.entry(c, auth.Search, st.Number, st.At)
	if req.Criteria.IDNumber != "" {
		// Whoever looked up an individual is on record by name and number.
		e.Detail = "id_number " + req.Criteria.IDNumber
	}
	return number, body, tx.InsertAudit(ctx, e)
}

// StoredSearch returns a search certificate's stored answer, byte for byte,
// to the searcher's organization and to auditors.
func (s *Service) StoredSearch(ctx context.Context, c Caller, number string) ([]byte, error) {
	if err := allow(c, auth.ReadSearch); err != nil {
		return nil, err
	}
	if err := identity.CheckNumber(number); err != nil {
		return nil, Invalid("number", CodeInvalidNumber, err.Error())
	}
	st, err := s.store.Search(ctx, number)
	if err != nil {
		return nil, err
	}
	if !c.Has(auth.Auditor) && st.OrganizationID != c.OrganizationID {
		return nil, refused(ErrForbidden, "a stored search is shown to the searcher's organization and to auditors")
	}
	return st.Body, nil
}

// Certificate verifies any registration, event or search certificate number;
// it needs no account.
func (s *Service) Certificate(ctx context.Context, c Caller, number string) (Certificate, error) {
	if err := allow(c, auth.ReadCertificate); err != nil {
		return Certificate{}, err
	}
	if err := identity.CheckNumber(number); err != nil {
		return Certificate{}, Invalid("number", CodeInvalidNumber, err.Error())
	}
	return s.store.Certificate(ctx, number)
}

// page replays the registrations found from the from'th on, as of asOf, and
// returns as many as one answer holds (cfg.MaxResults, and
// cfg.MaxAnswerBytes of JSON, at least one) with the index of the first left
// out. It replays a few at a time, so an answer of a grantor with thousands
// of registrations, or of registrations with thousands of items, never holds
// more than it gives.
//
// preloaded are the events of the first replayChunk registrations from
// from on, when the caller read them already.
func (s *Service) page(ctx context.Context, tx Tx, c Caller, matches []Match, from int, asOf time.Time, preloaded []EventRecord) ([]SearchResult, int, error) {
	out := []SearchResult{}
	size, i := 0, from
	measured, estimate := false, 0
	for i < len(matches) && len(out) < s.cfg.MaxResults {
		// Read a few at a time at first, more once they prove small; a
		// handful once they prove large (registrations of thousands of
		// items), so that nothing much is read past the answer's limit.
		chunk := replayChunk
		if len(out) > 0 {
			switch avg := estimate / len(out); {
			case avg > 64<<10:
				chunk = 4
			case avg < 8<<10:
				chunk = 8 * replayChunk
			}
		}
		n := min(len(matches)-i, s.cfg.MaxResults-len(out), chunk)
		numbers := make([]string, n)
		for k := range n {
			numbers[k] = matches[i+k].RegistrationNumber
		}
		var records []EventRecord
		if i == from && preloaded != nil && n <= replayChunk {
			chunk := make(map[string]bool, n)
			for _, num := range numbers {
				chunk[num] = true
			}
			for _, e := range preloaded {
				if chunk[e.RegistrationNumber] {
					records = append(records, e)
				}
			}
		} else {
			var err error
			if records, err = tx.Events(ctx, numbers, asOf); err != nil {
				return nil, 0, err
			}
		}
		regs, err := replay(records)
		if err != nil {
			return nil, 0, err
		}
		// Results are measured once they could come near the byte limit: a
		// registration's JSON is its events' records and its state, far
		// less than eight times the records.
		for _, e := range records {
			estimate += len(e.Record)
		}
		if !measured && 8*estimate > s.cfg.MaxAnswerBytes {
			measured = true
			for _, prev := range out {
				b, err := json.Marshal(prev)
				if err != nil {
					return nil, 0, err
				}
				size += len(b)
			}
		}
		if len(regs) != n {
			return nil, 0, errors.New("a registration found by a search could not be replayed")
		}
		for k, r := range regs {
			res := SearchResult{Registration: shown(c, finish(r, asOf)), MatchedBy: matches[i+k].MatchedBy}
			if measured {
				b, err := json.Marshal(res)
				if err != nil {
					return nil, 0, err
				}
				if len(out) > 0 && size+len(b) > s.cfg.MaxAnswerBytes {
					return out, i + k, nil
				}
				size += len(b)
			}
			out = append(out, res)
		}
		i += n
	}
	return out, i, nil
}

// replayChunk is how many registrations a page replays at a time.
const replayChunk = 32

// SearchResults returns a page of a stored search's results from cursor
// (the index of its first result; empty: 0), to the searcher's
// organization and to auditors. A page is made the first time it is read,
// as of the search's instant and as its searcher saw it, and kept: it is
// the same bytes every time.
func (s *Service) SearchResults(ctx context.Context, c Caller, number, cursor string) ([]byte, error) {
	if err := allow(c, auth.ReadSearch); err != nil {
		return nil, err
	}
	if err := identity.CheckNumber(number); err != nil {
		return nil, Invalid("number", CodeInvalidNumber, err.Error())
	}
	from := 0
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil || n < 0 || strconv.Itoa(n) != cursor {
			return nil, Invalid("cursor", CodeInvalidField, "must be a cursor this search gave (next_cursor)")
		}
		from = n
	}
	st, err := s.store.Search(ctx, number)
	if err != nil {
		return nil, err
	}
	if !c.Has(auth.Auditor) && st.OrganizationID != c.OrganizationID {
		return nil, refused(ErrForbidden, "a stored search is shown to the searcher's organization and to auditors")
	}
	if from > 0 && from >= st.ResultCount {
		return nil, Invalid("cursor", CodeInvalidField, "is past the search's last result")
	}
	if body, err := s.store.SearchPage(ctx, number, from); err == nil {
		return body, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	page := SearchPage{Number: number, ResultCount: st.ResultCount, Cursor: strconv.Itoa(from)}
	if !st.Truncated {
		// Answered whole: its one page is the answer's results.
		var cert SearchCertificate
		if err := json.Unmarshal(st.Body, &cert); err != nil {
			return nil, err
		}
		page.AsOf, page.Results = cert.AsOf, cert.Results[min(from, len(cert.Results)):]
	} else {
		page.AsOf = At(st.AsOf)
		viewer := Caller{Principal: auth.Principal{OrganizationID: st.OrganizationID, OrganizationUSCC: st.ViewerUSCC}}
		if st.ViewerStaff {
			viewer.Roles = []auth.Role{auth.Auditor}
		}
		results, next, err := s.page(ctx, s.store, viewer, st.Matches, from, st.AsOf, nil)
		if err != nil {
			return nil, err
		}
		page.Results = results
		if next < len(st.Matches) {
			page.NextCursor = strconv.Itoa(next)
		}
	}
	if err := s.store.InsertSearchPage(ctx, number, from, canonical(page)); err != nil {
		return nil, err
	}
	// Whichever reader kept it first, this is the page.
	return s.store.SearchPage(ctx, number, from)
}

// idNumberWindow is the span over which searches by identity number are
// counted.
const idNumberWindow = time.Hour

// takeIDNumberSearch lets one more search by identity number through for
// c, or refuses it once c has made IDNumberPerHour of them in the last
// hour: a masked number plus the search's answer is an oracle for the
// hidden digits, so guessing must stay slow. The first refusal of a burst
// is recorded as its own action, for auditors to find.
func (s *Service) takeIDNumberSearch(ctx context.Context, c Caller) error {
	searcher := c.UserID
	if searcher == "" {
		searcher = "token:" + c.TokenID
	}
	at := s.clock()
	a, err := s.store.TakeIDNumberSearch(ctx, searcher, at, s.cfg.IDNumberPerHour, idNumberWindow)
	if err != nil || a.Allowed {
		return err
	}
	if a.Burst {
		e := s.entry(c, auth.IDNumberBurst, searcher, at)
		e.Outcome = audit.Denied
		e.Detail = fmt.Sprintf("%d searches by identity number within %s: the cap; further ones are refused until %s",
			s.cfg.IDNumberPerHour, idNumberWindow, at.Add(a.RetryAfter).Format(time.RFC3339))
		if err := s.store.InsertAudit(context.WithoutCancel(ctx), e); err != nil {
			return err
		}
	}
	return &RateLimitedError{RetryAfter: a.RetryAfter,
		Reason: fmt.Sprintf("at most %d searches by id_number in an hour (search.id_number_per_hour)", s.cfg.IDNumberPerHour)}
}
