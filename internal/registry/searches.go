package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/movable-registry/registry/internal/names"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/identifiers"
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
	stored.Body, stored.Individuals = body, answerIndividuals(results)
	if err := tx.InsertSearch(ctx, &cert, stored, c.UserID); err != nil {
		return "", nil, err
	}
	e := s.entry(c, auth.Search, st.Number, st.At)
	if req.Criteria.IDNumber != "" {
		// Whoever looked up an individual is on record by name and number.
		e.Detail = "id_number " + req.Criteria.IDNumber
	}
	d := StatDelta{Month: monthOf(st.At), Province: province(Party{USCC: c.OrganizationUSCC, IDNumber: c.OrganizationIDNumber}), Searches: 1}
	if err := tx.CountStatistic(ctx, d); err != nil {
		return "", nil, err
	}
	return number, body, tx.InsertAudit(ctx, e)
}

// StoredSearch returns a search certificate's stored answer, byte for byte,
// to the searcher's organization and to auditors.
func (s *Service) StoredSearch(ctx context.Context, c Caller, number string) ([]byte, error) {
	if err := allow(c, auth.ReadSearch); err != nil {
		return nil, err
	}
	if err := identifiers.CheckNumber(number); err != nil {
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
	// The number is read off paper or a screen: typed in groups, with
	// spaces or dashes, it is still the number.
	number, err := identifiers.CanonicalNumber(number)
	if err != nil {
		return Certificate{}, Invalid("number", CodeInvalidNumber, err.Error())
	}
	cert, err := s.store.Certificate(ctx, number)
	if err != nil {
		return Certificate{}, err
	}
	// The store keeps how a registration ended; that it ran out is a
	// matter of the register's time, as for the registration itself.
	if cert.Status == StatusEffective && cert.ExpiresAt != nil && !cert.ExpiresAt.After(s.clock()) {
		cert.Status = StatusExpired
	}
	if cert.RegistrationNumber != "" && cert.Status == StatusEffective {
		// Whoever relies on the certificate must learn that the
		// registration is disputed: its standing objections, as the
		// registration itself shows them now.
		r, err := s.replayed(ctx, cert.RegistrationNumber)
		if err != nil {
			return Certificate{}, err
		}
		cert.Objections = StandingObjections(finish(r, s.clock()))
	}
	cert.Sandbox = s.cfg.Sandbox
	return cert, nil
}

// UnderObjection reports whether an objection stands against r (as finish
// set the objections' statuses).
func (r Registration) UnderObjection() bool {
	return slices.ContainsFunc(r.Objections, Objection.Standing)
}

// StandingObjections are r's objections that stand (active or litigating),
// as a certificate's verifier is told of them; nil when none does.
func StandingObjections(r Registration) []StandingObjection {
	var out []StandingObjection
	for _, o := range r.Objections {
		if o.Standing() {
			out = append(out, StandingObjection{Number: o.Number, Status: o.Status, FiledAt: o.FiledAt, LapsesAt: o.LapsesAt})
		}
	}
	return out
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
	if err := identifiers.CheckNumber(number); err != nil {
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
	for attempt := 1; ; attempt++ {
		page, err := s.makePage(ctx, st, from)
		if err != nil {
			return nil, err
		}
		err = s.store.InsertSearchPage(ctx, number, from, canonical(page), answerIndividuals(page.Results))
		if errors.Is(err, ErrConflict) && attempt < 3 {
			// A registration on it had its personal data erased while
			// it was made: made again, from the search as erased.
			if st, err = s.store.Search(ctx, number); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		break
	}
	// Whichever reader kept it first, this is the page.
	return s.store.SearchPage(ctx, number, from)
}

// makePage makes the page of stored search st from cursor from: from its
// answer when it was answered whole, else from its matches as of its
// instant, as its searcher saw them.
func (s *Service) makePage(ctx context.Context, st StoredSearch, from int) (SearchPage, error) {
	page := SearchPage{Number: st.Number, ResultCount: st.ResultCount, Cursor: strconv.Itoa(from)}
	if !st.Truncated {
		// Answered whole: its one page is the answer's results.
		var cert SearchCertificate
		if err := json.Unmarshal(st.Body, &cert); err != nil {
			return page, err
		}
		page.AsOf, page.Results = cert.AsOf, cert.Results[min(from, len(cert.Results)):]
	} else {
		page.AsOf = At(st.AsOf)
		viewer := Caller{Principal: auth.Principal{OrganizationID: st.OrganizationID, OrganizationUSCC: st.ViewerUSCC}}
		if st.ViewerStaff {
			viewer.Roles = []auth.Role{auth.Auditor}
		} else if st.ViewerUSCC == "" && st.OrganizationID != "" {
			// An individual's account sees its own identity number: the
			// account's, read again (it never changes).
			o, err := s.store.Organization(ctx, st.OrganizationID)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return page, err
			}
			if o.Individual() {
				viewer.OrganizationIDNumber = o.IDNumber
			}
		}
		results, next, err := s.page(ctx, s.store, viewer, st.Matches, from, st.AsOf, nil)
		if err != nil {
			return page, err
		}
		page.Results = results
		if next < len(st.Matches) {
			page.NextCursor = strconv.Itoa(next)
		}
	}
	return page, nil
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

// Match is a registration a search key found, and how.
type Match struct {
	RegistrationNumber string
	MatchedBy          string
}

// Query is a search as the store runs it: normalized keys, at an instant.
type Query struct {
	Criteria  Criteria
	NameKey   string
	SerialKey string
	AsOf      time.Time
	// Inactive finds registrations that were not effective at AsOf too.
	Inactive bool
}

// SimilarQuery asks for the names similar to a searched one: the name as
// typed, its search key, and the instant and statuses of the search.
type SimilarQuery struct {
	Name, Key       string
	AsOf            time.Time
	IncludeInactive bool
}

// StoredSearch is a search certificate as stored: the exact answer given.
type StoredSearch struct {
	Number         string
	OrganizationID string
	Body           []byte
	// Truncated searches keep what a page needs: the instant, everything
	// found in order, and whom the answer was for (masking is the searcher's).
	Truncated   bool
	AsOf        time.Time
	ResultCount int
	Matches     []Match
	ViewerUSCC  string
	ViewerStaff bool
	// Individuals are the registrations in Body's results that name an
	// individual (the retention erasure finds the search by them).
	Individuals []string
}

// Allowance is the answer of a capped action: let through, or refused until
// RetryAfter has passed; Burst marks the first refusal of a burst.
type Allowance struct {
	Allowed    bool
	RetryAfter time.Duration
	Burst      bool
}

// Criteria are the search keys; exactly one is set.
type Criteria struct {
	GrantorName        string `json:"grantor_name,omitempty"`
	USCC               string `json:"uscc,omitempty"`
	LEI                string `json:"lei,omitempty"`
	IDNumber           string `json:"id_number,omitempty"`
	RegistrationNumber string `json:"registration_number,omitempty"`
	SerialNumber       string `json:"serial_number,omitempty"`
}

// SearchRequest is a search as a searcher asks for it.
type SearchRequest struct {
	Criteria        Criteria   `json:"criteria"`
	AsOf            *time.Time `json:"as_of,omitempty"`
	IncludeInactive bool       `json:"include_inactive"`
}

// SearchResult is one registration found by a search.
type SearchResult struct {
	Registration Registration `json:"registration"`
	MatchedBy    string       `json:"matched_by"`
}

// Warning is advice about a search that is not part of its certified result.
type Warning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// SearchCertificate is a search and exactly what it returned, as stored.
type SearchCertificate struct {
	Number           string   `json:"number"`
	SearchedAt       Time     `json:"searched_at"`
	AsOf             Time     `json:"as_of"`
	Criteria         Criteria `json:"criteria"`
	IncludeInactive  bool     `json:"include_inactive"`
	RegisterPosition int64    `json:"register_position"`
	// ResultCount is everything the search found; Results is the first
	// page of it, Truncated when there is more, read from NextCursor on.
	ResultCount  int            `json:"result_count"`
	Truncated    bool           `json:"truncated"`
	NextCursor   string         `json:"next_cursor,omitempty"`
	Results      []SearchResult `json:"results"`
	SimilarNames []string       `json:"similar_names"`
	Warnings     []Warning      `json:"warnings,omitempty"`
	// ErasedAt is when the personal data of individuals in this answer
	// was last erased (retention): their registrations among Results say
	// so too, and CriteriaErased when the search was for one of them (the
	// identity number or name searched is then gone from Criteria). The
	// certificate's digest stays the one it was issued with.
	ErasedAt       *Time `json:"erased_at,omitempty"`
	CriteriaErased bool  `json:"criteria_erased,omitempty"`
}

// SearchPage is one page of a stored search's results.
type SearchPage struct {
	Number      string         `json:"number"`
	AsOf        Time           `json:"as_of"`
	ResultCount int            `json:"result_count"`
	Cursor      string         `json:"cursor"`
	Results     []SearchResult `json:"results"`
	NextCursor  string         `json:"next_cursor,omitempty"`
	// ErasedAt is when the personal data of individuals on this page was
	// last erased (retention).
	ErasedAt *Time `json:"erased_at,omitempty"`
}

// What a certificate number was issued to (Certificate.KindOfCertificate):
// a registration, a search, or an event of a registration by its type.
const (
	CertificateOfRegistration = "registration"
	CertificateOfSearch       = "search"
)

// CertificateKinds lists every KindOfCertificate: a registration, each type
// of event after the initial one (whose number is the registration's), and
// a search.
func CertificateKinds() []string {
	kinds := []string{CertificateOfRegistration}
	for _, t := range EventTypes {
		if t != EventInitial {
			kinds = append(kinds, t)
		}
	}
	return append(kinds, CertificateOfSearch)
}

// Certificate verifies a registration, event or search certificate number.
// For a registration or an event, Kind, Status and the times are those of
// the registration it belongs to, as they stand now: a reader holding an
// old certificate learns that the registration has since been cancelled.
type Certificate struct {
	Number             string `json:"number"`
	KindOfCertificate  string `json:"kind_of_certificate"`
	IssuedAt           Time   `json:"issued_at"`
	Digest             string `json:"digest"`
	RegistrationNumber string `json:"registration_number,omitempty"`
	// Kind is the registration's kind (chattel_mortgage …), or "search"
	// (CertificateOfSearch).
	Kind         string `json:"kind"`
	Status       string `json:"status,omitempty"`
	RegisteredAt *Time  `json:"registered_at,omitempty"`
	ExpiresAt    *Time  `json:"expires_at,omitempty"`
	// Objections are the registration's objections that stand now (active,
	// or litigating once a court or arbitrator accepted the case): a
	// registration under objection is disputed, and whoever relies on the
	// certificate must know. Absent when none stands.
	Objections []StandingObjection `json:"objections,omitempty"`
	// ErasedAt is when the personal data of the individuals the
	// registration names was erased (retention): Digest is still the one
	// its certificates were issued with, over the content as registered,
	// which the register no longer holds whole; a certificate made since
	// shows no individual's name, identity number or address.
	ErasedAt *Time `json:"erased_at,omitempty"`
	// Sandbox: the number is a test register's, and proves nothing; a
	// verifier must not mistake it for the real register's.
	Sandbox bool `json:"sandbox,omitempty"`
}

// StandingObjection is an objection that stands against a registration, as
// its certificate's verifier sees it: its number, when it was filed, and
// when it lapses unless a case notice follows (absent once litigating: it
// stands until a judgment, ruling or award ends it).
type StandingObjection struct {
	Number   string `json:"number"`
	Status   string `json:"status"`
	FiledAt  Time   `json:"filed_at"`
	LapsesAt *Time  `json:"lapses_at,omitempty"`
}

// query validates the search criteria (exactly one, put in stored form) and
// derives the keys the store searches by, once.
func (c *Criteria) query() (q Query, mixedScripts bool, err error) {
	var p problems
	set := 0
	for _, v := range []string{c.GrantorName, c.USCC, c.LEI, c.IDNumber, c.RegistrationNumber, c.SerialNumber} {
		if strings.TrimSpace(v) != "" {
			set++
		}
	}
	if set != 1 {
		p.broke("criteria", RuleOneCriterion, "give exactly one of grantor_name, uscc, lei, id_number, registration_number, serial_number")
		return q, false, p.err()
	}
	switch {
	case c.GrantorName != "":
		c.GrantorName = checkText(&p, "criteria.grantor_name", c.GrantorName, true, maxName)
		k := names.Normalize(c.GrantorName)
		if k.Key == "" {
			p.broke("criteria.grantor_name", RuleLettersOrDigits, "must contain letters or digits")
		}
		q.NameKey, mixedScripts = k.Key, k.MixedScripts
	case c.USCC != "":
		c.USCC = checkID(&p, "criteria.uscc", CodeInvalidUSCC, "USCC", c.USCC, identifiers.CanonicalUSCC)
	case c.LEI != "":
		c.LEI = checkID(&p, "criteria.lei", CodeInvalidLEI, "LEI", c.LEI, identifiers.CanonicalLEI)
	case c.IDNumber != "":
		c.IDNumber = checkID(&p, "criteria.id_number", CodeInvalidIDNumber, "identity number", c.IDNumber, identifiers.CanonicalIDNumber)
	case c.RegistrationNumber != "":
		c.RegistrationNumber = strings.TrimSpace(c.RegistrationNumber)
		if err := identifiers.CheckNumber(c.RegistrationNumber); err != nil {
			p.add("criteria.registration_number", CodeInvalidNumber, err.Error())
		}
	case c.SerialNumber != "":
		c.SerialNumber = checkText(&p, "criteria.serial_number", c.SerialNumber, true, maxSerial)
		q.SerialKey = identifiers.SerialKey(c.SerialNumber)
		if q.SerialKey == "" {
			p.broke("criteria.serial_number", RuleLettersOrDigits, "must contain letters or digits")
		}
	}
	q.Criteria = *c
	return q, mixedScripts, p.err()
}

// How a search result matched (docs/api.md).
const (
	MatchCurrentName        = "current_name"
	MatchFormerName         = "former_name"
	MatchUSCC               = "uscc"
	MatchLEI                = "lei"
	MatchIDNumber           = "id_number"
	MatchRegistrationNumber = "registration_number"
	MatchSerialNumber       = "serial_number"
)

// SearchStore finds registrations and keeps searches and their certificates.
type SearchStore interface {
	// FindRegistrations returns what a search key finds at q.AsOf, in
	// registration order, each registration once (effective ones only,
	// unless q.Inactive), and the events up to q.AsOf of the first first of
	// them, in log order.
	FindRegistrations(ctx context.Context, q Query, first int) ([]Match, []EventRecord, error)
	// SimilarNames offers up to limit names similar to a searched one
	// (names.Compare), best first, each one that a search as of q.AsOf
	// would find something for.
	SimilarNames(ctx context.Context, q SimilarQuery, limit int) ([]string, error)
	// TakeIDNumberSearch counts one more search by identity number for a
	// searcher at at, unless it has made limit of them within window.
	TakeIDNumberSearch(ctx context.Context, searcher string, at time.Time, limit int, window time.Duration) (Allowance, error)
	LogSizeAt(ctx context.Context, t time.Time) (int64, error)
	InsertSearch(ctx context.Context, c *SearchCertificate, s StoredSearch, userID string) error
	Search(ctx context.Context, number string) (StoredSearch, error)
	// SearchPage returns a stored page of a search's results (ErrNotFound
	// before it was first read); InsertSearchPage keeps one, unless a page
	// is kept at that cursor already, and refuses it (ErrConflict) when one
	// of the registrations it lists as naming individuals (not erased on
	// it) has had its personal data erased meanwhile.
	SearchPage(ctx context.Context, number string, cursor int) ([]byte, error)
	InsertSearchPage(ctx context.Context, number string, cursor int, body []byte, individuals []string) error
	Certificate(ctx context.Context, number string) (Certificate, error)
}
