package registry

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/movable-registry/registry/internal/auth"
)

// Notices tell an organization of an event that concerns it, without its
// searching: they are stored in the event's own transaction, so that a
// committed event always has them and a rolled-back one has none, and at
// most once for one event, recipient and kind.

// Kinds of notice (docs/api.md).
const (
	// NoticeFiled is the verification statement of a new registration, to
	// its grantors and secured parties.
	NoticeFiled = "registration_filed"
	// NoticeChanged tells the same parties, old and new, of an amendment,
	// an extension, an assignment, a cancellation, a revocation or an
	// expiry.
	NoticeChanged = "registration_changed"
	// NoticeObjection tells the controller and the objector of an
	// objection's filing, withdrawal, case notice, lapse or revocation.
	NoticeObjection = "objection"
)

// NoticeKinds are the kinds a list may be filtered by.
var NoticeKinds = []string{NoticeFiled, NoticeChanged, NoticeObjection, NoticeExpiryReminder, NoticeWatchMatch}

// Notification is a notice to be stored with its event: to an organization
// by its id, to whichever organization holds USCC, or to whichever
// individual's account holds IDNumber (none: no notice). None goes to
// Actor, the organization that acted.
type Notification struct {
	OrganizationID     string
	USCC               string
	IDNumber           string
	RegistrationNumber string
	EventNumber        string
	Kind               string
	EventType          string
	At                 time.Time
	Actor              string
}

// Notice is a stored notice as its organization reads it.
type Notice struct {
	ID                 string `json:"id"`
	Kind               string `json:"kind"`
	At                 Time   `json:"at"`
	RegistrationNumber string `json:"registration_number"`
	EventNumber        string `json:"event_number"`
	ReadAt             *Time  `json:"read_at"`
	// Detail is what the kind adds (the event's type).
	Detail map[string]string `json:"detail"`
}

// NoticeFilter selects an organization's notices, newest first, before the
// notice Before (a cursor) when set.
type NoticeFilter struct {
	OrganizationID string
	Unread         bool
	Kind           string
	Before         int64
	Limit          int
}

// NoticeStore keeps the notices.
type NoticeStore interface {
	// InsertNotification stores a notice with the event (once for its
	// event, recipient and kind; one to nobody, or to the actor, is
	// dropped).
	InsertNotification(ctx context.Context, n Notification) error
	Notices(ctx context.Context, f NoticeFilter) ([]Notice, error)
	// MarkNoticeRead sets read_at once; ErrNotFound when the organization
	// has no such notice.
	MarkNoticeRead(ctx context.Context, organizationID string, id int64, at time.Time) error
}

// NoticesRequest is a list's query.
type NoticesRequest struct {
	Unread, Kind, Limit, Cursor string
}

// Notices lists the caller's organization's notices, newest first.
func (s *Service) Notices(ctx context.Context, c Caller, req NoticesRequest) (Page[Notice], error) {
	if err := allow(c, auth.ReadNotices); err != nil {
		return Page[Notice]{}, err
	}
	var p problems
	f := NoticeFilter{OrganizationID: c.OrganizationID}
	switch req.Unread {
	case "", "false":
	case "true":
		f.Unread = true
	default:
		p.add("unread", CodeInvalidField, "must be true or false")
	}
	if req.Kind != "" && !slices.Contains(NoticeKinds, req.Kind) {
		p.add("kind", CodeInvalidField, "is not a kind of notice")
	}
	f.Kind = req.Kind
	limit, before := readPage(&p, req.Limit, req.Cursor, isSerial)
	if err := p.err(); err != nil {
		return Page[Notice]{}, err
	}
	if c.OrganizationID == "" {
		// The operator's token belongs to no organization.
		return Page[Notice]{Items: []Notice{}}, nil
	}
	f.Before, _ = strconv.ParseInt(before, 10, 64)
	f.Limit = limit + 1
	notices, err := s.store.Notices(ctx, f)
	if err != nil {
		return Page[Notice]{}, err
	}
	return pageOf(notices, limit, func(n Notice) string { return n.ID }), nil
}

// MarkNoticeRead marks one of the caller's organization's notices read;
// marking it again changes nothing.
func (s *Service) MarkNoticeRead(ctx context.Context, c Caller, id string) error {
	if err := allow(c, auth.MarkNoticeRead); err != nil {
		return err
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 1 {
		return ErrNotFound
	}
	if c.OrganizationID == "" {
		return ErrNotFound
	}
	return s.store.MarkNoticeRead(ctx, c.OrganizationID, n, s.clock())
}

// noticeKind is the kind of notice an event of type typ makes.
func noticeKind(typ string) string {
	switch typ {
	case EventInitial:
		return NoticeFiled
	case EventObjection, EventObjectionWithdrawal, EventCaseNotice, EventObjectionRevocation, EventObjectionLapse:
		return NoticeObjection
	}
	return NoticeChanged
}

// notices stores the notices of the event st that turned cur into next:
// to the parties named by USCC or (individuals) by identity number and the
// controllers, old and new, for a
// registration's own events; to the controllers and the objectors of the
// objections it changed, for an objection's. Never to the organization
// that acted.
func (s *Service) notices(ctx context.Context, tx Tx, c Caller, st Stamp, cur, next Registration, typ string) error {
	kind := noticeKind(typ)
	base := Notification{RegistrationNumber: next.Number, EventNumber: st.Number, Kind: kind, EventType: typ, At: st.At, Actor: c.OrganizationID}
	var out []Notification
	seen := map[string]bool{}
	add := func(org, uscc, idNumber string) {
		key := org + "|" + uscc + "|" + idNumber
		if (org == "" && uscc == "" && idNumber == "") || seen[key] {
			return
		}
		seen[key] = true
		n := base
		n.OrganizationID, n.USCC, n.IDNumber = org, uscc, idNumber
		out = append(out, n)
	}
	for _, r := range []Registration{cur, next} {
		add(r.Controller.OrganizationID, r.Controller.USCC, "")
	}
	if kind == NoticeObjection {
		for _, o := range next.Objections {
			i := slices.IndexFunc(cur.Objections, func(x Objection) bool { return x.Number == o.Number })
			if i < 0 || !sameObjection(cur.Objections[i], o) {
				add(o.By.OrganizationID, "", "")
			}
		}
	} else {
		for _, r := range []Registration{cur, next} {
			for _, p := range slices.Concat(r.Grantors, r.SecuredParties) {
				switch {
				case p.USCC != "":
					add("", p.USCC, "")
				case p.Type == "individual" && p.IDNumber != "":
					// An individual with an account of its own is told
					// as an organization is, by its identity number.
					add("", "", p.IDNumber)
				}
			}
		}
	}
	for _, n := range out {
		if err := tx.InsertNotification(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// sameObjection reports whether an objection is unchanged by an event.
func sameObjection(a, b Objection) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// isSerial reports whether v is a row's serial id (a positive integer), as
// the lists of notices and deliveries page by.
func isSerial(v string) bool {
	n, err := strconv.ParseInt(v, 10, 64)
	return err == nil && n > 0
}
