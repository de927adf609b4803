package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	apiclient "github.com/movable-registry/registry/client"
	"github.com/movable-registry/registry/internal/registry"
)

// storedSearch is the part of a search certificate that verify-search checks.
type storedSearch struct {
	Number           string            `json:"number"`
	AsOf             time.Time         `json:"as_of"`
	Criteria         registry.Criteria `json:"criteria"`
	IncludeInactive  bool              `json:"include_inactive"`
	RegisterPosition int64             `json:"register_position"`
	ResultCount      int               `json:"result_count"`
	NextCursor       string            `json:"next_cursor"`
	Results          []searchResult    `json:"results"`
}

type searchResult struct {
	Registration struct {
		Number string `json:"number"`
	} `json:"registration"`
	MatchedBy string `json:"matched_by"`
}

// verifySearch recomputes a stored search from the first register_position
// events of the log, checked against the signed checkpoint, and reports any
// registration the search should have returned and did not, and any it
// returned that it should not have.
func (v *verifier) verifySearch(ctx context.Context, number string) error {
	var s storedSearch
	resp, err := v.api.api.GetSearch(ctx, number)
	if err := decode("GET /searches/"+number, resp, err, &s); err != nil {
		return err
	}
	// A truncated search's further results are read page by page.
	for cursor := s.NextCursor; cursor != ""; {
		var page struct {
			Results    []searchResult `json:"results"`
			NextCursor string         `json:"next_cursor"`
		}
		resp, err := v.api.api.GetSearchResults(ctx, number, &apiclient.GetSearchResultsParams{Cursor: &cursor})
		if err := decode("GET /searches/"+number+"/results", resp, err, &page); err != nil {
			return err
		}
		if len(page.Results) == 0 {
			return fmt.Errorf("search %s: an empty page at cursor %s", number, cursor)
		}
		s.Results = append(s.Results, page.Results...)
		cursor = page.NextCursor
	}
	// The checkpoint must also extend the one verified last time.
	_, cp, _, err := v.start(ctx)
	if err != nil {
		return err
	}
	p := s.RegisterPosition
	if cp.Size < p {
		return fmt.Errorf("the latest checkpoint (%d events) does not cover the search's position %d yet; try again in a second", cp.Size, p)
	}
	records, root, ok, err := v.entries(ctx, p)
	if err != nil {
		return err
	}
	if ok && p > 0 {
		err := v.extends(ctx, cp, p, root)
		switch {
		case errors.Is(err, errFindings):
			v.find("the first %d entries are not the ones the signed log holds", p)
		case err != nil:
			return err
		}
	}
	for _, r := range records {
		if r.At.After(s.AsOf) {
			v.find("log entry %d (event %s) is within the search's register position but registered at %s, after its as_of %s",
				r.LogIndex, r.Number, registry.At(r.At).Format(registry.TimeLayout), registry.At(s.AsOf).Format(registry.TimeLayout))
		}
	}
	want, err := registry.SearchLog(records, s.Criteria, s.AsOf, s.IncludeInactive)
	if err != nil {
		return fmt.Errorf("search %s: %w", number, err)
	}
	got := map[string]string{}
	for _, r := range s.Results {
		got[r.Registration.Number] = r.MatchedBy
	}
	expected := map[string]bool{}
	for _, m := range want {
		expected[m.RegistrationNumber] = true
		how, found := got[m.RegistrationNumber]
		switch {
		case !found:
			v.find("search %s: registration %s should have been found (matched by %s) and was not", number, m.RegistrationNumber, m.MatchedBy)
		case how != m.MatchedBy:
			v.find("search %s: registration %s matched by %s, the log says by %s", number, m.RegistrationNumber, how, m.MatchedBy)
		}
	}
	seen := map[string]bool{}
	for _, r := range s.Results {
		if seen[r.Registration.Number] {
			v.find("search %s: registration %s was returned twice", number, r.Registration.Number)
		}
		seen[r.Registration.Number] = true
		if !expected[r.Registration.Number] {
			v.find("search %s: registration %s was returned, but the log as of %s does not match it", number, r.Registration.Number, registry.At(s.AsOf).Format(registry.TimeLayout))
		}
	}
	if s.ResultCount != len(s.Results) {
		v.find("search %s: result_count %d, but %d results", number, s.ResultCount, len(s.Results))
	}
	v.note("search %s as of %s at register position %d: %s, %d expected from the log", number,
		registry.At(s.AsOf).Format(registry.TimeLayout), p, plural(len(s.Results), "result", "results"), len(want))
	if v.findings > 0 {
		return errFindings
	}
	return nil
}
