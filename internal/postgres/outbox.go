package postgres

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivermigrate"
	"gorm.io/gorm"

	"github.com/movable-registry/registry/internal/registry"
)

// migrateJobs brings River's own tables (its jobs, queues and leader) up
// to the version the linked River needs.
func migrateJobs(ctx context.Context, db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	m, err := rivermigrate.New(riverdatabasesql.New(sqlDB), nil)
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// DB is the database the jobs run on (River's driver takes it).
func (s *Store) DB() (*sql.DB, error) { return s.db.DB() }

// EnqueueNotices takes up to limit notices not yet enqueued, in order, and
// hands enqueue the deliveries they make (one per webhook of the notice's
// organization) in the same transaction that marks them enqueued: a
// delivery job exists for every committed notice, once. It returns how
// many notices of each kind it took.
func (s *Store) EnqueueNotices(ctx context.Context, limit int, emails bool, enqueue func(tx *sql.Tx, deliveries []registry.Delivery) error) (map[string]int, error) {
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, err
	}
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return nil, translate(err)
	}
	defer func() { _ = tx.Rollback() }()
	rows, err := tx.QueryContext(ctx, `WITH taken AS (
			SELECT id, organization_id, kind FROM notifications WHERE enqueued_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED),
		marked AS (UPDATE notifications n SET enqueued_at = now() FROM taken WHERE n.id = taken.id)
		SELECT taken.id, taken.kind, r.hook, r.usr FROM taken LEFT JOIN LATERAL (
			SELECT w.id::text AS hook, NULL::text AS usr FROM webhooks w WHERE w.organization_id = taken.organization_id
			UNION ALL
			SELECT NULL, u.id::text FROM users u WHERE $2 AND u.organization_id = taken.organization_id AND u.notify_email
				AND u.suspended_at IS NULL AND u.released_at IS NULL) r ON true
		ORDER BY taken.id`, limit, emails)
	if err != nil {
		return nil, translate(err)
	}
	var out []registry.Delivery
	taken, kinds := map[int64]bool{}, map[string]int{}
	for rows.Next() {
		var id int64
		var kind string
		var hook, user *string
		if err := rows.Scan(&id, &kind, &hook, &user); err != nil {
			rows.Close()
			return nil, err
		}
		if !taken[id] {
			taken[id] = true
			kinds[kind]++
		}
		if hook != nil || user != nil {
			out = append(out, registry.Delivery{NotificationID: id, WebhookID: deref(hook), UserID: deref(user)})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	if len(taken) == 0 {
		return kinds, nil
	}
	if len(out) > 0 {
		if err := enqueue(tx, out); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, translate(err)
	}
	return kinds, nil
}

// DeliveryOf returns the notice and the webhook (with its secret) of a
// delivery; ErrNotFound when either is gone.
func (s *Store) DeliveryOf(ctx context.Context, d registry.Delivery) (registry.Notice, registry.Webhook, error) {
	var row struct {
		OrganizationID string
		URL            string
		Secret         string
		CreatedAt      time.Time
	}
	res := s.q(ctx).Raw("SELECT organization_id, url, secret, created_at FROM webhooks WHERE id = ?", d.WebhookID).Scan(&row)
	if res.Error != nil {
		return registry.Notice{}, registry.Webhook{}, translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return registry.Notice{}, registry.Webhook{}, registry.ErrNotFound
	}
	w := registry.Webhook{ID: d.WebhookID, URL: row.URL, Secret: row.Secret, OrganizationID: row.OrganizationID, CreatedAt: registry.At(row.CreatedAt)}
	n, err := s.notice(ctx, row.OrganizationID, d.NotificationID)
	return n, w, err
}

// RecordDelivery logs one attempt at a delivery.
func (s *Store) RecordDelivery(ctx context.Context, a registry.DeliveryAttempt) error {
	return translate(s.q(ctx).Exec(`INSERT INTO webhook_deliveries (webhook_id, notification_id, attempt, at, status_code, error)
		VALUES (?, ?, ?, ?, NULLIF(?, 0), ?)`, a.WebhookID, a.NotificationID, a.Attempt, a.At.Time, a.StatusCode, a.Error).Error)
}

// Deliveries returns a page of a webhook's attempts, newest first.
func (s *Store) Deliveries(ctx context.Context, organizationID, webhookID string, before int64, limit int) ([]registry.DeliveryAttempt, error) {
	var ours int64
	if err := s.q(ctx).Raw("SELECT count(*) FROM webhooks WHERE id = ? AND organization_id = ?", webhookID, organizationID).Scan(&ours).Error; err != nil {
		return nil, translate(err)
	}
	if ours == 0 {
		return nil, registry.ErrNotFound
	}
	q := s.q(ctx).Table("webhook_deliveries d").Joins("JOIN webhooks w ON w.id = d.webhook_id").
		Select("d.id, d.notification_id, d.attempt, d.at, d.status_code, d.error").
		Where("d.webhook_id = ? AND w.organization_id = ?", webhookID, organizationID)
	if before > 0 {
		q = q.Where("d.id < ?", before)
	}
	var rows []struct {
		ID             int64
		NotificationID int64
		Attempt        int
		At             time.Time
		StatusCode     *int
		Error          string
	}
	if err := q.Order("d.id DESC").Limit(limit).Scan(&rows).Error; err != nil {
		return nil, translate(err)
	}
	out := make([]registry.DeliveryAttempt, len(rows))
	for i, r := range rows {
		out[i] = registry.DeliveryAttempt{ID: r.ID, NotificationID: strconv.FormatInt(r.NotificationID, 10), Attempt: r.Attempt, At: registry.At(r.At), Error: r.Error}
		if r.StatusCode != nil {
			out[i].StatusCode = *r.StatusCode
		}
	}
	return out, nil
}

// EmailOf returns the notice and the user of an email delivery;
// ErrNotFound when either is gone, or the user no longer wants them.
func (s *Store) EmailOf(ctx context.Context, d registry.Delivery) (registry.Notice, registry.User, error) {
	r, err := s.user(ctx, "SELECT "+userColumns+" FROM users u WHERE u.id = ? AND u.notify_email AND u.suspended_at IS NULL AND u.released_at IS NULL", d.UserID)
	if err != nil {
		return registry.Notice{}, registry.User{}, err
	}
	u := r.toDomain()
	n, err := s.notice(ctx, u.OrganizationID, d.NotificationID)
	return n, u, err
}
