package registry

import (
	"context"
	"time"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/identifiers"
)

// SearchSummary is one stored search as the history lists it; its number
// reopens the certificate (GET /searches/{number}).
type SearchSummary struct {
	Number      string   `json:"number"`
	SearchedAt  Time     `json:"searched_at"`
	Criteria    Criteria `json:"criteria"`
	ResultCount int      `json:"result_count"`
}

// SearchHistoryRequest is GET /searches: mine (true or false), from and to
// (RFC 3339), a page's limit and cursor.
type SearchHistoryRequest struct {
	Mine, From, To, Limit, Cursor string
}

// HistoryFilter selects stored searches, newest first: of one
// organization (all when empty), searched in [From, To), before the search
// numbered Before.
type HistoryFilter struct {
	OrganizationID string
	From, To       *time.Time
	Before         string
	Limit          int
}

// HistoryStore lists stored searches.
type HistoryStore interface {
	SearchHistory(ctx context.Context, f HistoryFilter) ([]SearchSummary, error)
}

// SearchHistory lists stored searches, newest first: a searcher's
// organization's own; an auditor's, everyone's unless mine is true.
func (s *Service) SearchHistory(ctx context.Context, c Caller, req SearchHistoryRequest) (Page[SearchSummary], error) {
	if err := allow(c, auth.ListSearches); err != nil {
		return Page[SearchSummary]{}, err
	}
	var p problems
	if req.Mine != "" && req.Mine != "true" && req.Mine != "false" {
		p.add("mine", CodeInvalidField, "must be true or false")
	}
	mine := req.Mine == "true" || !c.Has(auth.Auditor)
	f := HistoryFilter{}
	for _, t := range []struct {
		field, value string
		into         **time.Time
	}{{"from", req.From, &f.From}, {"to", req.To, &f.To}} {
		if t.value == "" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, t.value)
		if err != nil {
			p.add(t.field, CodeInvalidField, "must be an RFC 3339 time")
			continue
		}
		*t.into = &at
	}
	if f.From != nil && f.To != nil && !f.To.After(*f.From) {
		p.add("to", CodeInvalidField, "must be after from")
	}
	f.Limit, f.Before = readPage(&p, req.Limit, req.Cursor, func(n string) bool { return identifiers.CheckNumber(n) == nil })
	if err := p.err(); err != nil {
		return Page[SearchSummary]{}, err
	}
	if mine {
		if c.OrganizationID == "" {
			return Page[SearchSummary]{Items: []SearchSummary{}}, nil
		}
		f.OrganizationID = c.OrganizationID
	}
	n := f.Limit
	f.Limit++
	items, err := s.store.SearchHistory(ctx, f)
	if err != nil {
		return Page[SearchSummary]{}, err
	}
	return pageOf(items, n, func(x SearchSummary) string { return x.Number }), nil
}
