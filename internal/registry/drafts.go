package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/movable-registry/registry/internal/auth"
)

// A draft is a filing saved before it is filed: any part of one, unchecked
// (only its shape is, as a body's always is), seen by every registrant of
// its organization. Filing it files it exactly as POST /registrations
// would, and removes it in the same transaction.

// MaxDrafts is how many drafts an organization may keep.
const MaxDrafts = 1000

// Draft is a saved filing.
type Draft struct {
	ID             string `json:"id"`
	Filing         Filing `json:"filing"`
	CreatedAt      Time   `json:"created_at"`
	UpdatedAt      Time   `json:"updated_at"`
	OrganizationID string `json:"-"`
}

// DraftStore keeps the drafts.
type DraftStore interface {
	// InsertDraft stores a draft: ErrDraftLimit at MaxDrafts.
	InsertDraft(ctx context.Context, d Draft) error
	// UpdateDraft replaces a draft's filing: ErrNotFound when the
	// organization has no such draft.
	UpdateDraft(ctx context.Context, d Draft) error
	Draft(ctx context.Context, organizationID, id string) (Draft, error)
	// Drafts returns a page of an organization's drafts, oldest first.
	Drafts(ctx context.Context, organizationID, after string, limit int) ([]Draft, error)
	// DeleteDraft removes a draft: ErrNotFound when there is none.
	DeleteDraft(ctx context.Context, organizationID, id string) error
}

// MaxDraftBytes is the most a draft's filing may hold as JSON. A draft is
// bounded like the filing it becomes (at most maxItems items) and in bytes,
// so that what an organization keeps, and a page of its drafts, stays small.
const MaxDraftBytes = 1 << 20

// checkDraft checks what a draft is checked for: its size, not its content.
func checkDraft(f Filing) error {
	if len(f.Collateral.Items) > maxItems {
		return BrokeMax("collateral.items", RuleAtMost, fmt.Sprintf("a draft, as a filing, may have at most %d items", maxItems), maxItems)
	}
	// Measured as it is shown, without HTML escapes, which would count a
	// "<" six times.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(f); err != nil {
		return err
	}
	if n := b.Len() - 1; n > MaxDraftBytes {
		return BrokeMax("(body)", RuleAtMost, fmt.Sprintf("a draft may hold at most %d bytes of JSON; this one holds %d", MaxDraftBytes, n), MaxDraftBytes)
	}
	return nil
}

// draftSize is about how many bytes a draft takes in a list's answer.
func draftSize(d Draft) int {
	b, err := json.Marshal(d.Filing)
	if err != nil {
		return MaxDraftBytes
	}
	return len(b)
}

// ErrDraftLimit refuses a draft beyond MaxDrafts.
var ErrDraftLimit = refused(ErrConflict, "the organization already keeps the most drafts allowed (1,000): file or delete some")

// CreateDraft saves a filing, unchecked, for the caller's organization.
func (s *Service) CreateDraft(ctx context.Context, c Caller, f Filing) (Draft, error) {
	if err := allow(c, auth.CreateDraft); err != nil {
		return Draft{}, err
	}
	if c.OrganizationID == "" {
		return Draft{}, refused(ErrForbidden, "the operator's token belongs to no organization")
	}
	if err := checkDraft(f); err != nil {
		return Draft{}, err
	}
	d := Draft{ID: uuid.Must(uuid.NewV7()).String(), Filing: f, OrganizationID: c.OrganizationID}
	err := s.administer(ctx, c, auth.CreateDraft, &d, func(tx Tx, at time.Time) (string, error) {
		d.CreatedAt, d.UpdatedAt = At(at), At(at)
		return d.ID, tx.InsertDraft(ctx, d)
	})
	return d, err
}

// UpdateDraft replaces one of the caller's organization's drafts.
func (s *Service) UpdateDraft(ctx context.Context, c Caller, id string, f Filing) (Draft, error) {
	if err := allow(c, auth.UpdateDraft); err != nil {
		return Draft{}, err
	}
	if !isUUID(id) || c.OrganizationID == "" {
		return Draft{}, ErrNotFound
	}
	if err := checkDraft(f); err != nil {
		return Draft{}, err
	}
	d, err := s.store.Draft(ctx, c.OrganizationID, id)
	if err != nil {
		return Draft{}, err
	}
	d.Filing = f
	err = s.administer(ctx, c, auth.UpdateDraft, &d, func(tx Tx, at time.Time) (string, error) {
		d.UpdatedAt = At(at)
		return d.ID, tx.UpdateDraft(ctx, d)
	})
	return d, err
}

// Draft returns one of the caller's organization's drafts.
func (s *Service) Draft(ctx context.Context, c Caller, id string) (Draft, error) {
	if err := allow(c, auth.ReadDraft); err != nil {
		return Draft{}, err
	}
	if !isUUID(id) || c.OrganizationID == "" {
		return Draft{}, ErrNotFound
	}
	return s.store.Draft(ctx, c.OrganizationID, id)
}

// Drafts lists the caller's organization's drafts, oldest first.
func (s *Service) Drafts(ctx context.Context, c Caller, limit, cursor string) (Page[Draft], error) {
	if err := allow(c, auth.ListDrafts); err != nil {
		return Page[Draft]{}, err
	}
	var p problems
	n, after := readPage(&p, limit, cursor, isUUID)
	if err := p.err(); err != nil {
		return Page[Draft]{}, err
	}
	if c.OrganizationID == "" {
		return Page[Draft]{Items: []Draft{}}, nil
	}
	return pageWithin(n, after, func(after string, k int) ([]Draft, error) {
		return s.store.Drafts(ctx, c.OrganizationID, after, k)
	}, func(d Draft) string { return d.ID }, draftSize)
}

// DeleteDraft removes one of the caller's organization's drafts.
func (s *Service) DeleteDraft(ctx context.Context, c Caller, id string) error {
	if err := allow(c, auth.DeleteDraft); err != nil {
		return err
	}
	if !isUUID(id) || c.OrganizationID == "" {
		return ErrNotFound
	}
	return s.administer(ctx, c, auth.DeleteDraft, &struct{}{}, func(tx Tx, _ time.Time) (string, error) {
		return id, tx.DeleteDraft(ctx, c.OrganizationID, id)
	})
}

// FileDraft files one of the caller's organization's drafts exactly as File
// would (the same checks, the same answer) and removes it in the filing's
// transaction: a draft filed twice at once is filed once, the other 404.
func (s *Service) FileDraft(ctx context.Context, c Caller, id string) (Registration, error) {
	if err := allow(c, auth.FileDraft); err != nil {
		return Registration{}, err
	}
	if !isUUID(id) || c.OrganizationID == "" {
		return Registration{}, ErrNotFound
	}
	return s.file(ctx, c, func(tx Tx) (Filing, error) {
		d, err := tx.Draft(ctx, c.OrganizationID, id)
		if err != nil {
			return Filing{}, err
		}
		if err := d.Filing.Validate(); err != nil {
			return Filing{}, err
		}
		return d.Filing, tx.DeleteDraft(ctx, c.OrganizationID, id)
	})
}
