package postgres

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/movable-registry/registry/internal/registry"
)

// InsertSavedParty stores a saved party, within the organization's
// allowance.
func (s *Store) InsertSavedParty(ctx context.Context, sp registry.SavedParty) error {
	party, err := json.Marshal(sp.Party)
	if err != nil {
		return err
	}
	return affected(s.w(ctx).Exec(`INSERT INTO saved_parties (id, organization_id, label, party, created_at)
		SELECT ?, ?, ?, ?, ? WHERE (SELECT count(*) FROM saved_parties WHERE organization_id = ?) < ?`,
		sp.ID, sp.OrganizationID, sp.Label, string(party), sp.CreatedAt.Time, sp.OrganizationID, registry.MaxSavedParties), registry.ErrSavedPartyLimit)
}

// SavedParties returns a page of an organization's saved parties, in the
// order they were saved (their ids), those whose label or name holds q.
func (s *Store) SavedParties(ctx context.Context, organizationID, q, after string, limit int) ([]registry.SavedParty, error) {
	db := s.q(ctx).Table("saved_parties").Select("id, label, party, created_at").Where("organization_id = ?", organizationID)
	if q != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(q) + "%"
		db = db.Where("(label ILIKE ? OR party->>'name' ILIKE ?)", like, like)
	}
	var rows []struct {
		ID        string
		Label     string
		Party     []byte
		CreatedAt time.Time
	}
	if err := keyset(db, "id", after, limit).Scan(&rows).Error; err != nil {
		return nil, translate(err)
	}
	out := make([]registry.SavedParty, len(rows))
	for i, r := range rows {
		out[i] = registry.SavedParty{ID: r.ID, Label: r.Label, CreatedAt: registry.At(r.CreatedAt), OrganizationID: organizationID}
		if err := json.Unmarshal(r.Party, &out[i].Party); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DeleteSavedParty removes a saved party of the organization's.
func (s *Store) DeleteSavedParty(ctx context.Context, organizationID, id string) error {
	return affected(s.w(ctx).Exec("DELETE FROM saved_parties WHERE id = ? AND organization_id = ?", id, organizationID), registry.ErrNotFound)
}
