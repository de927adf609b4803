package registry

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/movable-registry/registry/internal/auth"
)

// system is the registry acting on its own clock.
var system = Caller{Principal: auth.Principal{Roles: []auth.Role{auth.System}}, Source: "registry"}

// errNotDue stops a recording whose deadline turned out not to need an event.
var errNotDue = errors.New("nothing to record")

// RecordDeadlines records, each as its own registry event, the expiries and
// objection lapses that the clock has brought about and that no event
// records yet, up to limit of them, and tells each registration's
// controller. Statuses never wait for it (they follow from the clock); the
// events put the fact into the log. It returns how many it recorded, and
// whether there may be more due than limit allowed it to look at.
func (s *Service) RecordDeadlines(ctx context.Context, limit int) (recorded int, more bool, err error) {
	// One instance at a time records them; another's run finds them done.
	_, err = s.store.Exclusive(ctx, "registry: record deadlines", func() error {
		var err error
		recorded, more, err = s.recordDeadlines(ctx, limit)
		return err
	})
	return recorded, more, err
}

func (s *Service) recordDeadlines(ctx context.Context, limit int) (recorded int, more bool, err error) {
	due, err := s.store.DueDeadlines(ctx, s.clock(), limit)
	if err != nil {
		return 0, false, err
	}
	more = len(due) == limit
	for _, d := range due {
		err := s.recordDeadline(ctx, d)
		switch {
		case errors.Is(err, errNotDue):
			// Withdrawn, litigating or revoked before it could lapse.
			if err := s.store.SettleDeadline(ctx, d, s.clock()); err != nil {
				return recorded, false, err
			}
		case err != nil:
			return recorded, false, err
		default:
			recorded++
		}
	}
	return recorded, more, nil
}

func (s *Service) recordDeadline(ctx context.Context, d Deadline) error {
	if d.Objection == "" {
		_, err := s.change(ctx, system, auth.RecordExpiry, d.RegistrationNumber, func(tx Tx, st Stamp, cur Registration, _ RegistrationState) (string, any, error) {
			// Another instance may have recorded it since it was listed.
			recorded := slices.ContainsFunc(cur.History, func(h HistoryEntry) bool { return h.Type == EventExpiry })
			if cur.Status != StatusExpired || recorded {
				return "", nil, errNotDue
			}
			if err := s.settle(ctx, tx, cur, st, d); err != nil {
				return "", nil, err
			}
			return EventExpiry, expiryData{ExpiredAt: cur.ExpiresAt}, nil
		})
		return err
	}
	_, err := s.change(ctx, system, auth.RecordLapse, d.RegistrationNumber, func(tx Tx, st Stamp, cur Registration, _ RegistrationState) (string, any, error) {
		o := cur.objection(d.Objection)
		recorded := slices.ContainsFunc(cur.History, func(h HistoryEntry) bool { return h.Type == EventObjectionLapse && h.Objection == d.Objection })
		if o == nil || o.Status != ObjectionLapsed || recorded {
			return "", nil, errNotDue
		}
		if err := s.settle(ctx, tx, cur, st, d); err != nil {
			return "", nil, err
		}
		return EventObjectionLapse, lapseData{Objection: o.Number, LapsedAt: *o.LapsesAt}, nil
	})
	return err
}

func (s *Service) settle(ctx context.Context, tx Tx, cur Registration, st Stamp, d Deadline) error {
	return tx.SettleDeadline(ctx, d, st.At)
}

// Deadline is an expiry or an objection's lapse that the clock has brought
// about and no event records yet. Objection is empty for an expiry.
type Deadline struct {
	RegistrationNumber string
	Objection          string
	Due                time.Time
}

// DeadlineStore finds the expiries and lapses the clock has brought about.
type DeadlineStore interface {
	// DueDeadlines lists up to limit expiries and lapses due at now that no
	// event records yet, oldest first.
	DueDeadlines(ctx context.Context, now time.Time, limit int) ([]Deadline, error)
	SettleDeadline(ctx context.Context, d Deadline, at time.Time) error
	// ExpiryReminders stores a NoticeExpiryReminder to the controller of
	// each effective registration whose instant days before expiry (for
	// each of days) came since the last call, at most once for each
	// registration, expiry and days; now is read once every event stamped
	// before it has committed. It returns how many it stored.
	ExpiryReminders(ctx context.Context, days []int, now func() time.Time) (int, error)
}

// NoticeExpiryReminder tells a registration's controller that it expires
// in detail.days_before days (detail.expires_at), so that it can extend
// it in time.
const NoticeExpiryReminder = "expiry_reminder"

// SendExpiryReminders stores the expiry reminders whose instants the
// register's clock has reached (Config.ReminderDays before each expiry),
// once across instances; the delivery jobs take them from there.
func (s *Service) SendExpiryReminders(ctx context.Context) (sent int, err error) {
	_, err = s.store.Exclusive(ctx, "registry: expiry reminders", func() error {
		var err error
		sent, err = s.store.ExpiryReminders(ctx, s.cfg.ReminderDays, s.clock)
		return err
	})
	return sent, err
}
