package postgres

import (
	"context"
	"time"

	"github.com/movable-registry/registry/internal/registry"
)

// InsertWebhook stores a webhook, within the organization's allowance.
func (s *Store) InsertWebhook(ctx context.Context, w registry.Webhook) error {
	return affected(s.w(ctx).Exec(`INSERT INTO webhooks (id, organization_id, url, secret, created_at)
		SELECT ?, ?, ?, ?, ? WHERE (SELECT count(*) FROM webhooks WHERE organization_id = ?) < ?`,
		w.ID, w.OrganizationID, w.URL, w.Secret, w.CreatedAt.Time, w.OrganizationID, registry.MaxWebhooks), registry.ErrWebhookLimit)
}

// Webhooks returns a page of an organization's webhooks, oldest first.
func (s *Store) Webhooks(ctx context.Context, organizationID, after string, limit int) ([]registry.Webhook, error) {
	var rows []struct {
		ID        string
		URL       string
		CreatedAt time.Time
	}
	q := keyset(s.q(ctx).Table("webhooks").Select("id, url, created_at").Where("organization_id = ?", organizationID), "id", after, limit)
	if err := q.Scan(&rows).Error; err != nil {
		return nil, translate(err)
	}
	out := make([]registry.Webhook, len(rows))
	for i, r := range rows {
		out[i] = registry.Webhook{ID: r.ID, URL: r.URL, CreatedAt: registry.At(r.CreatedAt), OrganizationID: organizationID}
	}
	return out, nil
}

// DeleteWebhook removes a webhook of the organization's.
func (s *Store) DeleteWebhook(ctx context.Context, organizationID, id string) error {
	return affected(s.w(ctx).Exec("DELETE FROM webhooks WHERE id = ? AND organization_id = ?", id, organizationID), registry.ErrNotFound)
}
