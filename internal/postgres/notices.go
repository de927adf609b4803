package postgres

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
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
// one named by USCC goes to the organization holding it, one named by
// identity number to the individual's account holding it (none: dropped),
// none to the organization that acted, each once for its event, recipient
// and kind. Those named by identity number (few: individuals with an
// account) have a statement of their own, so that the others' stays the
// one statement it was.
func (b *writeBuffer) flushNotifications() error {
	if len(b.notifications) == 0 {
		return nil
	}
	var byUSCC, byID []registry.Notification
	for _, x := range b.notifications {
		if x.IDNumber != "" {
			byID = append(byID, x)
		} else {
			byUSCC = append(byUSCC, x)
		}
	}
	if len(byUSCC) > 0 {
		if err := b.insertNotifications(byUSCC, "g.uscc = x.u", func(x registry.Notification) string { return x.USCC }); err != nil {
			return err
		}
	}
	if len(byID) > 0 {
		return b.insertNotifications(byID, "g.id_number = x.u AND g.id_number <> ''", func(x registry.Notification) string { return x.IDNumber })
	}
	return nil
}

// insertNotifications inserts notices whose recipient, when not named by
// id, is the organization that match (on the identifier key gives) finds.
func (b *writeBuffer) insertNotifications(ns []registry.Notification, match string, key func(registry.Notification) string) error {
	n := len(ns)
	org, ident, actor := make([]*string, n), make([]*string, n), make([]*string, n)
	reg, ev, kind, typ, at := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]time.Time, n)
	for i, x := range ns {
		org[i], ident[i], actor[i] = strPtr(x.OrganizationID), strPtr(key(x)), strPtr(x.Actor)
		reg[i], ev[i], kind[i], typ[i], at[i] = x.RegistrationNumber, x.EventNumber, x.Kind, x.EventType, x.At
	}
	return b.exec(`INSERT INTO notifications (organization_id, registration_number, event_number, kind, event_type, created_at)
		SELECT DISTINCT COALESCE(x.o::uuid, g.id), x.r, x.e, x.k, x.t, x.a
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::text[]) AS x(o, u, r, e, k, t, a, actor)
		LEFT JOIN organizations g ON x.o IS NULL AND `+match+` AND g.status <> 'rejected'
		WHERE COALESCE(x.o::uuid, g.id) IS NOT NULL AND COALESCE(x.o::uuid, g.id) IS DISTINCT FROM x.actor::uuid
		ON CONFLICT (event_number, organization_id, kind) DO NOTHING`,
		org, ident, reg, ev, kind, typ, at, actor)
}

// Notices returns an organization's notices, newest first.
func (s *Store) Notices(ctx context.Context, f registry.NoticeFilter) ([]registry.Notice, error) {
	q := noticesOf(s.q(ctx), f.OrganizationID)
	if f.Unread {
		q = q.Where("read_at IS NULL")
	}
	if f.Kind == registry.NoticeExpiryReminder {
		// Stored with its number of days (migration 00018).
		q = q.Where("kind LIKE ?", registry.NoticeExpiryReminder+"\\_%")
	} else if f.Kind != "" {
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
		Select("id, kind, created_at, registration_number, event_number, read_at, event_type, watch_id, days_before, expires_at").
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
		DaysBefore         *int
		ExpiresAt          *time.Time
	}
	if err := q.Scan(&rows).Error; err != nil {
		return nil, translate(err)
	}
	out := make([]registry.Notice, len(rows))
	for i, r := range rows {
		kind := r.Kind
		if r.DaysBefore != nil {
			kind = registry.NoticeExpiryReminder
		}
		out[i] = registry.Notice{ID: strconv.FormatInt(r.ID, 10), Kind: kind, At: registry.At(r.CreatedAt),
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
		if r.DaysBefore != nil && r.ExpiresAt != nil {
			out[i].Detail["days_before"] = strconv.Itoa(*r.DaysBefore)
			out[i].Detail["expires_at"] = r.ExpiresAt.UTC().Format(registry.TimeLayout)
		}
	}
	return out, nil
}

// MarkNoticeRead sets a notice's read_at, once.
func (s *Store) MarkNoticeRead(ctx context.Context, organizationID string, id int64, at time.Time) error {
	return affected(s.w(ctx).Exec("UPDATE notifications SET read_at = COALESCE(read_at, ?) WHERE id = ? AND organization_id = ?", at, id, organizationID), registry.ErrNotFound)
}

// ExpiryReminders stores an expiry reminder for each effective registration
// whose reminder instant (its expiry less one of days) has come since the
// last call, to its controller, and returns how many. A registration filed
// or extended after its instant gets none for those days. The first call
// for a number of days starts from now.
func (s *Store) ExpiryReminders(ctx context.Context, days []int, now func() time.Time) (int, error) {
	// Every batch stamped before the clock is read has committed; any
	// later one is stamped at or after it.
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return tx.Exec("SELECT 1 FROM register_head FOR SHARE").Error
	})
	if err != nil {
		return 0, translate(err)
	}
	at := now()
	// An array's text form: gorm would spread a slice into a list.
	list := make([]string, len(days))
	for i, d := range days {
		list[i] = strconv.Itoa(d)
	}
	arr := "{" + strings.Join(list, ",") + "}"
	var sent int64
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO reminder_marks (days_before, through) SELECT d, ? FROM unnest(?::int[]) d ON CONFLICT DO NOTHING`,
			at, arr).Error; err != nil {
			return err
		}
		res := tx.Exec(`WITH marks AS (
				SELECT days_before AS d, through FROM reminder_marks WHERE days_before = ANY(CAST(@days AS int[])) AND through < @now FOR UPDATE),
			due AS (
				SELECT r.number, r.controller_id, r.expires_at, m.d FROM marks m JOIN registrations r
				ON r.status = 'effective' AND r.expiry_recorded_at IS NULL
				AND r.expires_at > m.through + m.d * interval '1 day' AND r.expires_at <= CAST(@now AS timestamptz) + m.d * interval '1 day'
				AND r.expires_at > @now AND r.registered_at <= r.expires_at - m.d * interval '1 day')
			INSERT INTO notifications (organization_id, registration_number, event_number, kind, created_at, days_before, expires_at)
			SELECT due.controller_id, due.number,
				(SELECT e.number FROM events e WHERE e.registration_number = due.number ORDER BY e.log_index DESC LIMIT 1),
				@kind || '_' || due.d, @now, due.d, due.expires_at
			FROM due
			ON CONFLICT (event_number, organization_id, kind) DO NOTHING`,
			sql.Named("days", arr), sql.Named("now", at), sql.Named("kind", registry.NoticeExpiryReminder))
		if res.Error != nil {
			return res.Error
		}
		sent = res.RowsAffected
		return tx.Exec("UPDATE reminder_marks SET through = ? WHERE days_before = ANY(?::int[]) AND through < ?", at, arr, at).Error
	})
	return int(sent), translate(err)
}
