package registry

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/identity"
)

// eventBody is the canonical record of an event: the bytes the log commits to.
type eventBody struct {
	LogIndex           int64     `json:"log_index"`
	Number             string    `json:"number"`
	Type               string    `json:"type"`
	RegistrationNumber string    `json:"registration_number"`
	RegisteredAt       time.Time `json:"registered_at"`
	By                 eventBy   `json:"by"`
	Data               any       `json:"data"`
}

type eventBy struct {
	OrganizationID string `json:"organization_id"`
	UserID         string `json:"user_id,omitempty"`
}

// initialData is what an initial registration records.
type initialData struct {
	Kind             string     `json:"kind"`
	Controller       Controller `json:"controller"`
	Grantors         []Party    `json:"grantors"`
	SecuredParties   []Party    `json:"secured_parties"`
	Collateral       Collateral `json:"collateral"`
	PeriodMonths     int        `json:"period_months"`
	ExpiresAt        time.Time  `json:"expires_at"`
	MaxSecuredAmount *Money     `json:"max_secured_amount,omitempty"`
	Reference        string     `json:"reference,omitempty"`
}

func newEvent(c Caller, st Stamp, typ, regNumber string, data any) EventRecord {
	body := eventBody{
		LogIndex: st.LogIndex, Number: st.Number, Type: typ, RegistrationNumber: regNumber,
		RegisteredAt: st.At, By: eventBy{OrganizationID: c.OrganizationID, UserID: c.UserID}, Data: data,
	}
	return EventRecord{
		LogIndex: st.LogIndex, Number: st.Number, Type: typ, RegistrationNumber: regNumber, At: st.At,
		OrganizationID: c.OrganizationID, UserID: c.UserID, Record: canonical(body),
	}
}

// File makes an initial registration for the caller's organization, which
// becomes its controller. The answer carries the modification code, once.
func (s *Service) File(ctx context.Context, c Caller, f Filing) (Registration, error) {
	if err := allow(c, auth.FileRegistration); err != nil {
		return Registration{}, err
	}
	if err := f.Validate(); err != nil {
		return Registration{}, err
	}
	// Read before the sequencer: its lock is held only for the write.
	ctrl, err := s.store.Organization(ctx, c.OrganizationID)
	if err != nil {
		return Registration{}, err
	}
	code := newModificationCode()
	var reg Registration
	err = s.store.Sequence(ctx, StampEvent, func(tx Tx, st Stamp) error {
		items := make([]Item, len(f.Collateral.Items))
		for i, in := range f.Collateral.Items {
			items[i] = Item{ID: newItemID(st.Number, i), Type: in.Type, SerialNumber: in.SerialNumber, Description: in.Description, RegisteredAt: st.At}
		}
		data := initialData{
			Kind: f.Kind, Controller: Controller{OrganizationID: ctrl.ID, USCC: ctrl.USCC},
			Grantors: f.Grantors, SecuredParties: f.SecuredParties,
			Collateral:   Collateral{Description: f.Collateral.Description, Items: items},
			PeriodMonths: f.PeriodMonths, ExpiresAt: AddMonths(st.At, f.PeriodMonths),
			MaxSecuredAmount: f.MaxSecuredAmount, Reference: f.Reference,
		}
		state := Registration{
			Number: st.Number, Kind: data.Kind, RegisteredAt: st.At, ExpiresAt: data.ExpiresAt,
			Controller: data.Controller, Grantors: data.Grantors, SecuredParties: data.SecuredParties,
			Collateral: data.Collateral, PeriodMonths: data.PeriodMonths, MaxSecuredAmount: data.MaxSecuredAmount,
			Reference: data.Reference, Status: StatusEffective,
		}
		var err error
		reg, err = s.commitEvent(ctx, tx, c, st, auth.FileRegistration, EventInitial, st.Number, data, func() error {
			return tx.InsertRegistration(ctx, &state, auth.HashSecret(code))
		})
		return err
	})
	if err != nil {
		return Registration{}, err
	}
	reg.ModificationCode = code
	return reg, nil
}

// commitEvent records one registry event inside its sequenced transaction:
// the immutable event, the change apply makes to the registration's current
// state, and the audit entry. It returns the registration as it now stands.
func (s *Service) commitEvent(ctx context.Context, tx Tx, c Caller, st Stamp, action auth.Action, typ, regNumber string, data any, apply func() error) (Registration, error) {
	if err := tx.InsertEvent(ctx, newEvent(c, st, typ, regNumber, data)); err != nil {
		return Registration{}, err
	}
	if err := apply(); err != nil {
		return Registration{}, err
	}
	if err := tx.InsertAudit(ctx, s.entry(c, action, regNumber, st.At)); err != nil {
		return Registration{}, err
	}
	regs, err := tx.Registrations(ctx, []string{regNumber}, st.At)
	if err != nil {
		return Registration{}, err
	}
	if len(regs) != 1 {
		return Registration{}, ErrNotFound
	}
	return finish(regs[0], st.At), nil
}

// newItemID derives an item's id from the event that added it and its place
// there, so that replaying the log gives the same ids.
func newItemID(eventNumber string, i int) string {
	return eventNumber + "-" + strconv.Itoa(i+1)
}

// finish derives what follows from the events and the clock at instant at:
// the status, the version and the log position shown.
func finish(r Registration, at time.Time) Registration {
	ended := r.Status == StatusCancelled || r.Status == StatusRevoked
	switch {
	case ended:
		// The store only reports an end that happened at or before at.
	case !r.ExpiresAt.After(at):
		r.Status = StatusExpired
	default:
		r.Status = StatusEffective
	}
	r.Version = len(r.History)
	if n := len(r.History); n > 0 {
		r.LogIndex = r.History[n-1].LogIndex
	}
	if r.Objections == nil {
		r.Objections = []Objection{}
	}
	if r.Collateral.Items == nil {
		r.Collateral.Items = []Item{}
	}
	return r
}

// Registration returns the current state of the registration that any of its
// event numbers belongs to.
func (s *Service) Registration(ctx context.Context, c Caller, number string) (Registration, error) {
	if err := allow(c, auth.ReadRegistration); err != nil {
		return Registration{}, err
	}
	if err := identity.CheckNumber(number); err != nil {
		return Registration{}, Invalid("number", CodeInvalidNumber, err.Error())
	}
	regNumber, err := s.store.RegistrationNumberOf(ctx, number)
	if err != nil {
		return Registration{}, err
	}
	// Everything committed, whatever the clock says: a write's stamp can run
	// a microsecond ahead of the wall clock.
	regs, err := s.store.Registrations(ctx, []string{regNumber}, farFuture)
	if err != nil {
		return Registration{}, err
	}
	if len(regs) == 0 {
		return Registration{}, ErrNotFound
	}
	return finish(regs[0], s.clock()), nil
}

var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// cancellationData is what a cancellation records.
type cancellationData struct {
	Reason string `json:"reason"`
	Note   string `json:"note,omitempty"`
}

// Cancel releases a registration. The controller's registrants may cancel, and
// so may any registrant presenting the registration's modification code.
func (s *Service) Cancel(ctx context.Context, c Caller, number, modificationCode string, req Cancellation) (Registration, error) {
	if err := allow(c, auth.CancelRegistration); err != nil {
		return Registration{}, err
	}
	if err := identity.CheckNumber(number); err != nil {
		return Registration{}, Invalid("number", CodeInvalidNumber, err.Error())
	}
	if err := req.Validate(); err != nil {
		return Registration{}, err
	}
	var reg Registration
	err := s.store.Sequence(ctx, StampEvent, func(tx Tx, st Stamp) error {
		state, err := tx.LockRegistration(ctx, number)
		if err != nil {
			return err
		}
		if err := s.mayChange(c, state, modificationCode); err != nil {
			return err
		}
		if state.StoredStatus != StatusEffective || !state.ExpiresAt.After(st.At) {
			return ErrNotEffective
		}
		reg, err = s.commitEvent(ctx, tx, c, st, auth.CancelRegistration, EventCancellation, state.Number, cancellationData(req), func() error {
			return tx.EndRegistration(ctx, state.Number, StatusCancelled, st.At)
		})
		return err
	})
	return reg, err
}

// mayChange is the object-level rule for amending, extending and cancelling:
// the controller, or the holder of the modification code.
func (s *Service) mayChange(c Caller, state RegistrationState, modificationCode string) error {
	if modificationCode != "" {
		if auth.SameSecret(normalizeModificationCode(modificationCode), state.ModificationCodeHash) {
			return nil
		}
		return errors.Join(ErrForbidden, errors.New("the modification code is wrong or no longer valid"))
	}
	if c.OrganizationID != "" && c.OrganizationID == state.ControllerID {
		return nil
	}
	return errors.Join(ErrForbidden, errors.New("only the controller, or a holder of the modification code, may change this registration"))
}
