package registry

import (
	"context"
	"slices"
	"time"

	"github.com/movable-registry/registry/internal/names"

	"github.com/google/uuid"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/identifiers"
)

// A watch tells an organization when an event makes a registration match
// a search it would have made: by a grantor's USCC, LEI or name (the
// search's normalization) or a collateral item's serial number. Each event
// looks its new keys up in the watches' index; it never reads them all.

// NoticeWatchMatch is the notice a watch makes.
const NoticeWatchMatch = "watch_match"

// MaxWatches is how many watches an organization may keep.
const MaxWatches = 10000

// Watch is one organization's standing search.
type Watch struct {
	ID             string   `json:"id"`
	Criteria       Criteria `json:"criteria"`
	Note           string   `json:"note,omitempty"`
	CreatedAt      Time     `json:"created_at"`
	OrganizationID string   `json:"-"`
	// Kind and Key are what the watch matches: a kind of key and the key
	// in the search's normal form.
	Kind string `json:"-"`
	Key  string `json:"-"`
}

// WatchRequest is POST /watches.
type WatchRequest struct {
	Criteria Criteria `json:"criteria"`
	Note     string   `json:"note"`
}

// WatchKey is one key an event adds to a registration.
type WatchKey struct{ Kind, Key string }

// WatchMatch asks for watch_match notices of the watches on keys.
type WatchMatch struct {
	RegistrationNumber, EventNumber, EventType, Actor string
	At                                                time.Time
	Keys                                              []WatchKey
}

// WatchStore keeps the watches and finds those an event matches.
type WatchStore interface {
	// InsertWatch stores a watch: ErrConflict when the organization has
	// one on the same key, ErrWatchLimit at MaxWatches.
	InsertWatch(ctx context.Context, w Watch) error
	Watches(ctx context.Context, organizationID, after string, limit int) ([]Watch, error)
	DeleteWatch(ctx context.Context, organizationID, id string) error
	// MatchWatches stores, with the event, a watch_match notice for every
	// organization other than the actor that watches one of the keys.
	MatchWatches(ctx context.Context, m WatchMatch) error
}

// ErrWatchLimit refuses a watch beyond MaxWatches.
var ErrWatchLimit = refused(ErrConflict, "the organization already keeps the most watches allowed (10,000)")

// CreateWatch starts a watch for the caller's organization.
func (s *Service) CreateWatch(ctx context.Context, c Caller, req WatchRequest) (Watch, error) {
	if err := allow(c, auth.CreateWatch); err != nil {
		return Watch{}, err
	}
	var p problems
	if req.Criteria.IDNumber != "" {
		p.broke("criteria.id_number", RuleNotWatched, "individuals are not watched")
	}
	if req.Criteria.RegistrationNumber != "" {
		p.broke("criteria.registration_number", RuleNotWatched, "a registration is followed by its notices, not watched")
	}
	if err := p.err(); err != nil {
		return Watch{}, err
	}
	q, _, err := req.Criteria.query()
	if err != nil {
		return Watch{}, err
	}
	w := Watch{ID: uuid.Must(uuid.NewV7()).String(), Criteria: q.Criteria, OrganizationID: c.OrganizationID}
	w.Note = checkText(&p, "note", req.Note, false, maxText)
	if err := p.err(); err != nil {
		return Watch{}, err
	}
	switch c := q.Criteria; {
	case c.USCC != "":
		w.Kind, w.Key = "uscc", c.USCC
	case c.LEI != "":
		w.Kind, w.Key = "lei", c.LEI
	case c.GrantorName != "":
		w.Kind, w.Key = "grantor_name", q.NameKey
	default:
		w.Kind, w.Key = "serial_number", q.SerialKey
	}
	if c.OrganizationID == "" {
		return Watch{}, refused(ErrForbidden, "the operator's token belongs to no organization")
	}
	err = s.administer(ctx, c, auth.CreateWatch, &w, func(tx Tx, at time.Time) (string, error) {
		w.CreatedAt = At(at)
		return w.ID, tx.InsertWatch(ctx, w)
	})
	return w, err
}

// Watches lists the caller's organization's watches, oldest first.
func (s *Service) Watches(ctx context.Context, c Caller, limit, cursor string) (Page[Watch], error) {
	if err := allow(c, auth.ListWatches); err != nil {
		return Page[Watch]{}, err
	}
	var p problems
	n, after := readPage(&p, limit, cursor, isUUID)
	if err := p.err(); err != nil {
		return Page[Watch]{}, err
	}
	if c.OrganizationID == "" {
		return Page[Watch]{Items: []Watch{}}, nil
	}
	ws, err := s.store.Watches(ctx, c.OrganizationID, after, n+1)
	if err != nil {
		return Page[Watch]{}, err
	}
	return pageOf(ws, n, func(w Watch) string { return w.ID }), nil
}

// DeleteWatch ends one of the caller's organization's watches.
func (s *Service) DeleteWatch(ctx context.Context, c Caller, id string) error {
	if !isUUID(id) || c.OrganizationID == "" {
		return ErrNotFound
	}
	return s.administer(ctx, c, auth.DeleteWatch, &struct{}{}, func(tx Tx, _ time.Time) (string, error) {
		return id, tx.DeleteWatch(ctx, c.OrganizationID, id)
	})
}

// watchKeys are the keys a registration matches watches by: its
// organization grantors' USCCs, LEIs and names (current and former), its
// items' serial numbers.
func watchKeys(r Registration) []WatchKey {
	var out []WatchKey
	for _, g := range r.Grantors {
		if g.USCC != "" {
			out = append(out, WatchKey{"uscc", g.USCC})
		}
		if g.LEI != "" {
			out = append(out, WatchKey{"lei", g.LEI})
		}
		if g.Type == "organization" {
			for _, name := range append([]string{g.Name}, g.FormerNames...) {
				if k := names.Normalize(name).Key; k != "" {
					out = append(out, WatchKey{"grantor_name", k})
				}
			}
		}
	}
	for _, it := range r.Collateral.Items {
		if k := identifiers.SerialKey(it.SerialNumber); k != "" {
			out = append(out, WatchKey{"serial_number", k})
		}
	}
	return out
}

// matchWatches asks for the watch_match notices of the keys the event adds
// to the registration (an initial filing's all; an amendment's new
// grantors, names and items).
func (s *Service) matchWatches(ctx context.Context, tx Tx, c Caller, st Stamp, cur, next Registration, typ string) error {
	before := watchKeys(cur)
	var added []WatchKey
	for _, k := range watchKeys(next) {
		if !slices.Contains(before, k) && !slices.Contains(added, k) {
			added = append(added, k)
		}
	}
	if len(added) == 0 || next.Status != StatusEffective {
		return nil
	}
	return tx.MatchWatches(ctx, WatchMatch{RegistrationNumber: next.Number, EventNumber: st.Number, EventType: typ, Actor: c.OrganizationID, At: st.At, Keys: added})
}
