package postgres

import (
	"context"
	"strconv"
	"time"

	"gorm.io/gorm"

	"github.com/movable-registry/registry/internal/registry"
)

// InsertNotification stores a notice with its event (buffered with the
// event's other rows).
func (s *Store) InsertNotification(ctx context.Context, n registry.Notification) error {
	if s.buf == nil {
		return s.alone(ctx, func(tx *Store) error { return tx.InsertNotification(ctx, n) })
	}
	s.buf.notifications = append(s.buf.notifications, n)
	return nil
}

// flushNotifications writes the buffered notices in the batch's pipeline:
// one named by USCC goes to the organization holding it (none: dropped),
// none to the organization that acted, each once for its event, recipient
// and kind.
func (b *writeBuffer) flushNotifications() error {
	if len(b.notifications) == 0 {
		return nil
	}
	n := len(b.notifications)
	org, uscc, actor := make([]*string, n), make([]*string, n), make([]*string, n)
	reg, ev, kind, typ, at := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]time.Time, n)
	for i, x := range b.notifications {
		org[i], uscc[i], actor[i] = strPtr(x.OrganizationID), strPtr(x.USCC), strPtr(x.Actor)
		reg[i], ev[i], kind[i], typ[i], at[i] = x.RegistrationNumber, x.EventNumber, x.Kind, x.EventType, x.At
	}
	return b.exec(`INSERT INTO notifications (organization_id, registration_number, event_number, kind, event_type, created_at)
		SELECT DISTINCT COALESCE(x.o::uuid, g.id), x.r, x.e, x.k, x.t, x.a
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::text[]) AS x(o, u, r, e, k, t, a, actor)
		LEFT JOIN organizations g ON x.o IS NULL AND g.uscc = x.u AND g.status <> 'rejected'
		WHERE COALESCE(x.o::uuid, g.id) IS NOT NULL AND COALESCE(x.o::uuid, g.id) IS DISTINCT FROM x.actor::uuid
		ON CONFLICT (event_number, organization_id, kind) DO NOTHING`,
		org, uscc, reg, ev, kind, typ, at, actor)
}

// Notices returns an organization's notices, newest first.
func (s *Store) Notices(ctx context.Context, f registry.NoticeFilter) ([]registry.Notice, error) {
	q := noticesOf(s.q(ctx), f.OrganizationID)
	if f.Unread {
		q = q.Where("read_at IS NULL")
	}
	if f.Kind != "" {
		q = q.Where("kind = ?", f.Kind)
	}
	if f.Before > 0 {
		q = q.Where("id < ?", f.Before)
	}
	return scanNotices(q.Order("id DESC").Limit(f.Limit))
}

// notice returns one of an organization's notices.
func (s *Store) notice(ctx context.Context, organizationID string, id int64) (registry.Notice, error) {
	ns, err := scanNotices(noticesOf(s.q(ctx), organizationID).Where("id = ?", id))
	if err != nil {
		return registry.Notice{}, err
	}
	if len(ns) == 0 {
		return registry.Notice{}, registry.ErrNotFound
	}
	return ns[0], nil
}

func noticesOf(db *gorm.DB, organizationID string) *gorm.DB {
	return db.Table("notifications").
		Select("id, kind, created_at, registration_number, event_number, read_at, event_type, watch_id").
		Where("organization_id = ?", organizationID)
}

func scanNotices(q *gorm.DB) ([]registry.Notice, error) {
	var rows []struct {
		ID                 int64
		Kind               string
		CreatedAt          time.Time
		RegistrationNumber string
		EventNumber        string
		ReadAt             *time.Time
		EventType          *string
		WatchID            *string
	}
	if err := q.Scan(&rows).Error; err != nil {
		return nil, translate(err)
	}
	out := make([]registry.Notice, len(rows))
	for i, r := range rows {
		out[i] = registry.Notice{ID: strconv.FormatInt(r.ID, 10), Kind: r.Kind, At: registry.At(r.CreatedAt),
			RegistrationNumber: r.RegistrationNumber, EventNumber: r.EventNumber, Detail: map[string]string{}}
		if r.ReadAt != nil {
			t := registry.At(*r.ReadAt)
			out[i].ReadAt = &t
		}
		if r.EventType != nil {
			out[i].Detail["event_type"] = *r.EventType
		}
		if r.WatchID != nil {
			out[i].Detail["watch_id"] = *r.WatchID
		}
	}
	return out, nil
}

// MarkNoticeRead sets a notice's read_at, once.
func (s *Store) MarkNoticeRead(ctx context.Context, organizationID string, id int64, at time.Time) error {
	return affected(s.w(ctx).Exec("UPDATE notifications SET read_at = COALESCE(read_at, ?) WHERE id = ? AND organization_id = ?", at, id, organizationID), registry.ErrNotFound)
}
