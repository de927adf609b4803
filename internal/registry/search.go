package registry

import (
	"context"
	"errors"
	"time"

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
	if req.AsOf != nil {
		asOf := req.AsOf.UTC().Truncate(time.Microsecond)
		if asOf.After(s.clock()) {
			return "", nil, Invalid("as_of", CodeInvalidField, "may not be in the future")
		}
		req.AsOf = &asOf
	}
	var warnings []Warning
	if mixedScripts {
		warnings = append(warnings, Warning{Code: "mixed_scripts", Message: "the name mixes letters of different alphabets (for example a Cyrillic а among Latin letters); only names written with the same letters match"})
	}
	// Similar names are advice, not part of the certified result: they are
	// looked for before the search is sequenced (as of its as_of, or of
	// this moment), so that their costly trigram walk never holds a batch
	// of writes open.
	var similar []string
	if q.NameKey != "" {
		asOf := s.clock()
		if req.AsOf != nil {
			asOf = *req.AsOf
		}
		if similar, err = s.store.SimilarNames(ctx, q.NameKey, asOf, s.cfg.SimilarNames); err != nil {
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

// search runs a search in the sequencer's transaction and stores it.
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
	matches, err := tx.FindRegistrations(ctx, q)
	if err != nil {
		return "", nil, err
	}
	how := make(map[string]string, len(matches))
	numbers := make([]string, 0, len(matches))
	for _, m := range matches {
		if _, dup := how[m.RegistrationNumber]; !dup {
			how[m.RegistrationNumber] = m.MatchedBy
			numbers = append(numbers, m.RegistrationNumber)
		}
	}
	regs, err := s.load(ctx, tx, numbers, asOf)
	if err != nil {
		return "", nil, err
	}
	for _, r := range regs {
		r = finish(r, asOf)
		byNumber := req.Criteria.RegistrationNumber != ""
		if r.Status != StatusEffective && !req.IncludeInactive && !byNumber {
			continue
		}
		cert.Results = append(cert.Results, SearchResult{Registration: shown(c, r), MatchedBy: how[r.Number]})
	}
	// Results are in registration order: load replays in that order.
	cert.ResultCount = len(cert.Results)
	if similar != nil {
		cert.SimilarNames = similar
	}
	number, body = st.Number, canonical(cert)
	stored := StoredSearch{Number: st.Number, OrganizationID: c.OrganizationID, Body: body}
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
		return nil, errors.Join(ErrForbidden, errors.New("a stored search is shown to the searcher's organization and to auditors"))
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
