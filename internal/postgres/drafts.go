package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/movable-registry/registry/internal/registry"
)

// InsertDraft stores a draft, within the organization's allowance.
func (s *Store) InsertDraft(ctx context.Context, d registry.Draft) error {
	filing, err := json.Marshal(d.Filing)
	if err != nil {
		return err
	}
	return affected(s.w(ctx).Exec(`INSERT INTO drafts (id, organization_id, filing, created_at, updated_at)
		SELECT ?, ?, ?, ?, ? WHERE (SELECT count(*) FROM drafts WHERE organization_id = ?) < ?`,
		d.ID, d.OrganizationID, string(filing), d.CreatedAt.Time, d.UpdatedAt.Time, d.OrganizationID, registry.MaxDrafts), registry.ErrDraftLimit)
}

// UpdateDraft replaces a draft's filing.
func (s *Store) UpdateDraft(ctx context.Context, d registry.Draft) error {
	filing, err := json.Marshal(d.Filing)
	if err != nil {
		return err
	}
	return affected(s.w(ctx).Exec("UPDATE drafts SET filing = ?, updated_at = ? WHERE id = ? AND organization_id = ?",
		string(filing), d.UpdatedAt.Time, d.ID, d.OrganizationID), registry.ErrNotFound)
}

type draftRow struct {
	ID        string
	Filing    []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (r draftRow) draft(organizationID string) (registry.Draft, error) {
	d := registry.Draft{ID: r.ID, CreatedAt: registry.At(r.CreatedAt), UpdatedAt: registry.At(r.UpdatedAt), OrganizationID: organizationID}
	return d, json.Unmarshal(r.Filing, &d.Filing)
}

// Draft returns one of an organization's drafts.
func (s *Store) Draft(ctx context.Context, organizationID, id string) (registry.Draft, error) {
	var rows []draftRow
	if err := s.q(ctx).Raw("SELECT id, filing, created_at, updated_at FROM drafts WHERE id = ? AND organization_id = ?", id, organizationID).Scan(&rows).Error; err != nil {
		return registry.Draft{}, translate(err)
	}
	if len(rows) == 0 {
		return registry.Draft{}, registry.ErrNotFound
	}
	return rows[0].draft(organizationID)
}

// Drafts returns a page of an organization's drafts, oldest first.
func (s *Store) Drafts(ctx context.Context, organizationID, after string, limit int) ([]registry.Draft, error) {
	var rows []draftRow
	q := keyset(s.q(ctx).Table("drafts").Select("id, filing, created_at, updated_at").Where("organization_id = ?", organizationID), "id", after, limit)
	if err := q.Scan(&rows).Error; err != nil {
		return nil, translate(err)
	}
	out := make([]registry.Draft, len(rows))
	for i, r := range rows {
		var err error
		if out[i], err = r.draft(organizationID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DeleteDraft removes a draft of the organization's.
func (s *Store) DeleteDraft(ctx context.Context, organizationID, id string) error {
	return affected(s.w(ctx).Exec("DELETE FROM drafts WHERE id = ? AND organization_id = ?", id, organizationID), registry.ErrNotFound)
}
