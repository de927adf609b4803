package registry

import (
	"context"
	"slices"
	"time"

	"github.com/movable-registry/registry/internal/auth"
)

// objectionPeriodDays is how long an objection stands without a case notice
// (the 2021 Measures, arts. 18–20: 30 days; docs/rules.md). The lapse is
// applied where a registration's events are replayed (events.go, finish)
// and recorded as an event by the deadlines job (deadlines.go).
const objectionPeriodDays = 30

// FileObjection registers an objection against a registration: by a
// registrant of a grantor organization, or a user of an individual's account
// whose identity number a grantor carries; or by another organization or
// individual that states its interest. The controller is notified.
func (s *Service) FileObjection(ctx context.Context, c Caller, number string, req ObjectionRequest) (Objection, error) {
	if err := allow(c, auth.FileObjection); err != nil {
		return Objection{}, err
	}
	if err := req.Validate(); err != nil {
		return Objection{}, err
	}
	org, err := s.store.Organization(ctx, c.OrganizationID)
	if err != nil {
		return Objection{}, err
	}
	reg, err := s.change(ctx, c, auth.FileObjection, number, func(tx Tx, st Stamp, cur Registration, _ RegistrationState) (string, any, error) {
		if cur.Status != StatusEffective {
			return "", nil, ErrNotEffective
		}
		if secured, err := securedSide(ctx, tx, c, org, cur); err != nil {
			return "", nil, err
		} else if secured {
			return "", nil, refused(ErrForbidden, "a secured party does not object to its own registration: it amends or cancels it. An objection is the grantor's, or another interested party's")
		}
		if !slices.ContainsFunc(cur.Grantors, org.Is) && req.Interest == "" {
			return "", nil, Invalid("interest", CodeInvalidField, "an objector that is not a grantor of this registration must state its interest")
		}
		lapses := st.At.In(Shanghai).AddDate(0, 0, objectionPeriodDays).UTC()
		if err := tx.InsertObjectionDeadline(ctx, st.Number, cur.Number, lapses); err != nil {
			return "", nil, err
		}
		return EventObjection, objectionData{Statement: req.Statement, Interest: req.Interest, LapsesAt: At(lapses)}, nil
	})
	return lastObjection(reg, err)
}

// securedSide reports whether the caller's organization (org) is on the
// secured side of cur: its controller, or one of its secured parties, and
// not also one of its grantors. The objection (2021 Measures, art. 21) is
// how a grantor or another interested party disputes what the secured party
// registered; the secured party itself corrects it by amendment or ends it
// by cancellation.
func securedSide(ctx context.Context, tx Tx, c Caller, org Organization, cur Registration) (bool, error) {
	if slices.ContainsFunc(cur.Grantors, org.Is) {
		return false, nil
	}
	if slices.ContainsFunc(cur.SecuredParties, org.Is) {
		return true, nil
	}
	return isController(ctx, tx, c, cur)
}

// MayObject reports whether the caller may object to r as the pages offer
// it: the permission table allows it, r is effective, and the caller's
// organization is not on r's secured side.
func (s *Service) MayObject(ctx context.Context, c Caller, r Registration) (bool, error) {
	if !c.Can(auth.FileObjection) || r.Status != StatusEffective || c.OrganizationID == "" {
		return false, nil
	}
	org, err := s.store.Organization(ctx, c.OrganizationID)
	if err != nil {
		return false, err
	}
	secured, err := securedSide(ctx, s.store, c, org, r)
	return !secured, err
}

// lastObjection picks the objection the registration's latest event concerns.
func lastObjection(r Registration, err error) (Objection, error) {
	if err != nil {
		return Objection{}, err
	}
	h := r.History[len(r.History)-1]
	number := h.Objection
	if number == "" {
		number = h.Number
	}
	if o := r.objection(number); o != nil {
		return *o, nil
	}
	return Objection{}, ErrNotFound
}

// objectorsObjection finds an objection that the caller's organization filed
// and that still stands.
func objectorsObjection(c Caller, cur Registration, number string) (*Objection, error) {
	o := cur.objection(number)
	if o == nil {
		return nil, refused(ErrNotFound, "this registration has no objection "+number)
	}
	if c.OrganizationID == "" || o.By.OrganizationID != c.OrganizationID {
		return nil, refused(ErrForbidden, "only the objecting organization may do this")
	}
	if o.Status != ObjectionActive && o.Status != ObjectionLitigating {
		return nil, refused(ErrObjectionNotActive, "the objection is "+o.Status)
	}
	return o, nil
}

// WithdrawObjection withdraws an objection; only its objector may.
func (s *Service) WithdrawObjection(ctx context.Context, c Caller, number, objection string) (Objection, error) {
	if err := allow(c, auth.WithdrawObjection); err != nil {
		return Objection{}, err
	}
	if err := checkNumber("objection", objection); err != nil {
		return Objection{}, err
	}
	return lastObjection(s.change(ctx, c, auth.WithdrawObjection, number, func(tx Tx, st Stamp, cur Registration, _ RegistrationState) (string, any, error) {
		if _, err := objectorsObjection(c, cur, objection); err != nil {
			return "", nil, err
		}
		return EventObjectionWithdrawal, withdrawalData{Objection: objection}, nil
	}))
}

// SubmitCaseNotice records that a court or arbitration body accepted the
// objector's case; submitted before the objection lapses, it stops the lapse.
func (s *Service) SubmitCaseNotice(ctx context.Context, c Caller, number, objection string, req CaseNoticeRequest) (Objection, error) {
	if err := allow(c, auth.SubmitCaseNotice); err != nil {
		return Objection{}, err
	}
	if err := checkNumber("objection", objection); err != nil {
		return Objection{}, err
	}
	if err := req.Validate(s.clock()); err != nil {
		return Objection{}, err
	}
	return lastObjection(s.change(ctx, c, auth.SubmitCaseNotice, number, func(tx Tx, st Stamp, cur Registration, _ RegistrationState) (string, any, error) {
		o, err := objectorsObjection(c, cur, objection)
		if err != nil {
			return "", nil, err
		}
		if o.CaseNotice != nil {
			return "", nil, refused(ErrObjectionNotActive, "the objection already has a case notice")
		}
		return EventCaseNotice, caseNoticeData{Objection: objection, Court: req.Court, CaseNumber: req.CaseNumber, AcceptedOn: req.AcceptedOn}, nil
	}))
}

// Objection statuses.
const (
	ObjectionActive     = "active"
	ObjectionLitigating = "litigating"
	ObjectionWithdrawn  = "withdrawn"
	ObjectionLapsed     = "lapsed"
	ObjectionRevoked    = "revoked"
)

// Objection is a dispute registered against a registration, as it stands at
// the instant the registration is shown.
type Objection struct {
	Number     string      `json:"number"`
	Status     string      `json:"status"`
	FiledAt    Time        `json:"filed_at"`
	LapsesAt   *Time       `json:"lapses_at,omitempty"`
	By         Actor       `json:"by"`
	Statement  string      `json:"statement"`
	Interest   string      `json:"interest,omitempty"`
	CaseNotice *CaseNotice `json:"case_notice,omitempty"`
	EndedAt    *Time       `json:"ended_at,omitempty"`

	lapsesAt time.Time
	ended    string // withdrawn or revoked, by an event
	endedAt  time.Time
}

// Standing reports whether the objection stands (active or litigating), as
// finish set its status.
func (o Objection) Standing() bool {
	return o.Status == ObjectionActive || o.Status == ObjectionLitigating
}

// CaseNotice is a court's or arbitration body's notice that it accepted the
// objector's case; with it an objection no longer lapses.
type CaseNotice struct {
	Court       string `json:"court"`
	CaseNumber  string `json:"case_number"`
	AcceptedOn  string `json:"accepted_on"`
	SubmittedAt Time   `json:"submitted_at"`
}

// ObjectionRequest files an objection. Interest states the objector's
// interest and is required of an organization that is not a grantor.
type ObjectionRequest struct {
	Statement string `json:"statement"`
	Interest  string `json:"interest,omitempty"`
}

// CaseNoticeRequest submits a case-acceptance notice for an objection.
type CaseNoticeRequest struct {
	Court      string `json:"court"`
	CaseNumber string `json:"case_number"`
	AcceptedOn string `json:"accepted_on"`
}

// Validate checks an objection; whether its interest must be stated depends
// on the registration, and is checked against it.
func (r *ObjectionRequest) Validate() error {
	var p problems
	r.Statement = checkText(&p, "statement", r.Statement, true, maxStatement)
	r.Interest = checkText(&p, "interest", r.Interest, false, maxStatement)
	return p.err()
}

// Validate checks a case-acceptance notice submitted at instant now.
func (r *CaseNoticeRequest) Validate(now time.Time) error {
	var p problems
	r.Court = checkText(&p, "court", r.Court, true, maxName)
	r.CaseNumber = checkText(&p, "case_number", r.CaseNumber, true, maxSerial)
	accepted, err := time.ParseInLocation(time.DateOnly, r.AcceptedOn, Shanghai)
	switch {
	case err != nil:
		p.broke("accepted_on", RuleDate, "must be a date such as 2026-11-26")
	case accepted.After(now):
		p.broke("accepted_on", RuleFuture, "may not be in the future")
	}
	return p.err()
}

// ObjectionStore keeps what an objection leaves besides its event and its
// notices: the deadline by which it lapses.
type ObjectionStore interface {
	InsertObjectionDeadline(ctx context.Context, objection, registration string, lapsesAt time.Time) error
}
