package registry

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/movable-registry/registry/internal/auth"
)

// Saved parties are an organization's own details and its frequent
// grantors, kept under a label for its filing and amendment forms, and
// checked as a filing's parties are when saved.

// MaxSavedParties is how many parties an organization may keep.
const MaxSavedParties = 1000

// SavedParty is a party kept under a label.
type SavedParty struct {
	ID             string `json:"id"`
	Label          string `json:"label"`
	Party          Party  `json:"party"`
	CreatedAt      Time   `json:"created_at"`
	OrganizationID string `json:"-"`
}

// SavedPartyRequest is POST /parties.
type SavedPartyRequest struct {
	Label string `json:"label"`
	Party Party  `json:"party"`
}

// PartyStore keeps the saved parties.
type PartyStore interface {
	// InsertSavedParty stores one: ErrSavedPartyLimit at MaxSavedParties.
	InsertSavedParty(ctx context.Context, sp SavedParty) error
	// SavedParties returns an organization's, by label, those whose label
	// or name holds q (any case) when q is set.
	SavedParties(ctx context.Context, organizationID, q, after string, limit int) ([]SavedParty, error)
	DeleteSavedParty(ctx context.Context, organizationID, id string) error
}

// ErrSavedPartyLimit refuses a saved party beyond MaxSavedParties.
var ErrSavedPartyLimit = refused(ErrConflict, "the organization already keeps the most saved parties allowed (1,000)")

// SaveParty keeps a party under a label for the caller's organization.
func (s *Service) SaveParty(ctx context.Context, c Caller, req SavedPartyRequest) (SavedParty, error) {
	if err := allow(c, auth.SaveParty); err != nil {
		return SavedParty{}, err
	}
	var p problems
	req.Label = checkText(&p, "label", req.Label, true, 100)
	checkParty(&p, "party", &req.Party)
	if err := p.err(); err != nil {
		return SavedParty{}, err
	}
	if c.OrganizationID == "" {
		return SavedParty{}, refused(ErrForbidden, "the operator's token belongs to no organization")
	}
	sp := SavedParty{ID: uuid.Must(uuid.NewV7()).String(), Label: req.Label, Party: req.Party, OrganizationID: c.OrganizationID}
	err := s.administer(ctx, c, auth.SaveParty, &sp, func(tx Tx, at time.Time) (string, error) {
		sp.CreatedAt = At(at)
		return sp.ID, tx.InsertSavedParty(ctx, sp)
	})
	return sp, err
}

// SavedParties lists the caller's organization's saved parties by label,
// those whose label or name holds q when it is given.
func (s *Service) SavedParties(ctx context.Context, c Caller, q, limit, cursor string) (Page[SavedParty], error) {
	if err := allow(c, auth.ListParties); err != nil {
		return Page[SavedParty]{}, err
	}
	var p problems
	q = strings.TrimSpace(q)
	if !utf8.ValidString(q) || utf8.RuneCountInString(q) > 100 {
		p.add("q", CodeInvalidField, "must be at most 100 characters of UTF-8")
	}
	n, after := readPage(&p, limit, cursor, isUUID)
	if err := p.err(); err != nil {
		return Page[SavedParty]{}, err
	}
	if c.OrganizationID == "" {
		return Page[SavedParty]{Items: []SavedParty{}}, nil
	}
	items, err := s.store.SavedParties(ctx, c.OrganizationID, q, after, n+1)
	if err != nil {
		return Page[SavedParty]{}, err
	}
	return pageOf(items, n, func(x SavedParty) string { return x.ID }), nil
}

// DeleteSavedParty removes one of the caller's organization's saved
// parties.
func (s *Service) DeleteSavedParty(ctx context.Context, c Caller, id string) error {
	if err := allow(c, auth.DeleteParty); err != nil {
		return err
	}
	if !isUUID(id) || c.OrganizationID == "" {
		return ErrNotFound
	}
	return s.administer(ctx, c, auth.DeleteParty, &struct{}{}, func(tx Tx, _ time.Time) (string, error) {
		return id, tx.DeleteSavedParty(ctx, c.OrganizationID, id)
	})
}
