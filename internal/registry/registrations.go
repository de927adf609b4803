package registry

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/identity"
)

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
		return s.once(ctx, tx, c, st.At, &reg, func() error {
			var err error
			reg, err = s.commit(ctx, tx, c, st, auth.FileRegistration, Registration{}, EventInitial, initial(ctrl, f, st), auth.HashSecret(code))
			reg.ModificationCode = code
			return err
		})
	})
	return reg, replayed(err)
}

// initial is what an initial registration records.
func initial(ctrl Organization, f Filing, st Stamp) initialData {
	return initialData{
		Kind: f.Kind, Controller: Controller{OrganizationID: ctrl.ID, USCC: ctrl.USCC},
		Grantors: f.Grantors, SecuredParties: f.SecuredParties,
		Collateral:   Collateral{Description: f.Collateral.Description, Items: newItems(st, f.Collateral.Items)},
		PeriodMonths: f.PeriodMonths, ExpiresAt: At(AddMonths(st.At, f.PeriodMonths)),
		MaxSecuredAmount: f.MaxSecuredAmount, Reference: f.Reference,
	}
}

// Written is everything one event puts in the store: the event, the
// registration's new state row, its index rows when they changed, and the
// audit entry.
type Written struct {
	Event EventRecord
	Head  RegistrationHead
	// Parties are the indexed parties, when PartiesChanged.
	Parties        []IndexedParty
	PartiesChanged bool
	// AddedItems and RemovedItems are the collateral items the event added
	// and removed.
	AddedItems   []Item
	RemovedItems []string
	Audit        audit.Entry
	// State is the registration as it now stands.
	State Registration
}

// record works out what an event writes, without writing it. The new state
// is the old one with the event applied as the log holds it: decoded from
// its record, exactly as a later replay will see it.
func (s *Service) record(c Caller, st Stamp, action auth.Action, cur Registration, typ string, data any) (Written, error) {
	regNumber := cur.Number
	if typ == EventInitial {
		regNumber = st.Number
	}
	w := Written{Event: newEvent(c, st, typ, regNumber, data)}
	e, err := decodeEvent(w.Event)
	if err != nil {
		return Written{}, err
	}
	next := clone(cur)
	if err := apply(&next, e); err != nil {
		return Written{}, err
	}
	next = finish(next, st.At)
	w.State = next
	w.Head = RegistrationHead{Number: next.Number, Kind: next.Kind, RegisteredAt: next.RegisteredAt.Time, ExpiresAt: next.ExpiresAt.Time,
		ControllerID: next.Controller.OrganizationID, ControllerUSCC: next.Controller.USCC, Status: StatusEffective}
	if next.EndedAt != nil {
		w.Head.EndedAt = &next.EndedAt.Time
	}
	if next.ended != "" {
		w.Head.Status = next.ended
	}
	// Any difference at all, a letter of an address included, restarts the
	// party rows; most events change no party and write none.
	if parties := indexedParties(next); !reflect.DeepEqual(indexedParties(cur), parties) {
		w.Parties, w.PartiesChanged = parties, true
	}
	before, after := itemIDs(cur), itemIDs(next)
	for _, it := range cur.Collateral.Items {
		if !after[it.ID] {
			w.RemovedItems = append(w.RemovedItems, it.ID)
		}
	}
	for _, it := range next.Collateral.Items {
		if !before[it.ID] {
			w.AddedItems = append(w.AddedItems, it)
		}
	}
	// The audit target is the registration, as it is for refusals; the
	// event's own number is in the detail.
	w.Audit = s.entry(c, action, regNumber, st.At)
	w.Audit.Detail = typ + " " + st.Number
	return w, nil
}

// Initial works out what filing f at stamp st writes, as File would, for a
// tool that loads many registrations at once (registry-bench). It checks
// the filing first.
func (s *Service) Initial(c Caller, ctrl Organization, f Filing, st Stamp) (Written, error) {
	if err := f.Validate(); err != nil {
		return Written{}, err
	}
	return s.record(c, st, auth.FileRegistration, Registration{}, EventInitial, initial(ctrl, f, st))
}

// newItems gives declared items their ids and the event's time as their
// priority time. Ids derive from the event number and the item's place in
// it, so that replaying the log gives the same ids.
func newItems(st Stamp, in []ItemInput) []Item {
	items := make([]Item, len(in))
	for i, it := range in {
		items[i] = Item{ID: st.Number + "-" + strconv.Itoa(i+1), Type: it.Type, SerialNumber: it.SerialNumber,
			Description: it.Description, RegisteredAt: At(st.At)}
	}
	return items
}

// commit records one registry event inside its sequenced transaction: the
// immutable event, the current-state row and search index brought up to
// date, and the audit entry. It returns the registration as it now stands.
// cur is the registration before the event (empty for an initial
// registration).
func (s *Service) commit(ctx context.Context, tx Tx, c Caller, st Stamp, action auth.Action, cur Registration, typ string, data any, codeHash []byte) (Registration, error) {
	w, err := s.record(c, st, action, cur, typ, data)
	if err != nil {
		return Registration{}, err
	}
	if err := tx.InsertEvent(ctx, w.Event); err != nil {
		return Registration{}, err
	}
	if cur.Number == "" {
		err = tx.InsertRegistration(ctx, w.Head, codeHash)
	} else {
		err = tx.UpdateRegistration(ctx, w.Head)
	}
	if err != nil {
		return Registration{}, err
	}
	if w.PartiesChanged {
		if err := tx.IndexParties(ctx, w.Head.Number, st.At, w.Parties); err != nil {
			return Registration{}, err
		}
	}
	if len(w.RemovedItems) > 0 {
		if err := tx.RemoveItems(ctx, w.Head.Number, w.RemovedItems, st.At); err != nil {
			return Registration{}, err
		}
	}
	if len(w.AddedItems) > 0 {
		if err := tx.InsertItems(ctx, w.Head.Number, w.AddedItems); err != nil {
			return Registration{}, err
		}
	}
	if err := tx.InsertAudit(ctx, w.Audit); err != nil {
		return Registration{}, err
	}
	return w.State, nil
}

// indexedParties lists the parties a registration is searched by: its
// grantors, the former names of renamed grantors, its secured parties.
func indexedParties(r Registration) []IndexedParty {
	var out []IndexedParty
	for _, p := range r.Grantors {
		out = append(out, IndexedParty{Role: RoleGrantor, Party: p})
		for _, name := range p.FormerNames {
			former := p
			former.Name, former.FormerNames = name, nil
			out = append(out, IndexedParty{Role: RoleFormerGrantor, Party: former})
		}
	}
	for _, p := range r.SecuredParties {
		out = append(out, IndexedParty{Role: RoleSecuredParty, Party: p})
	}
	return out
}

func itemIDs(r Registration) map[string]bool {
	ids := make(map[string]bool, len(r.Collateral.Items))
	for _, it := range r.Collateral.Items {
		ids[it.ID] = true
	}
	return ids
}

// load replays registrations as they stood at asOf, in registration order,
// not yet finished at an instant.
func (s *Service) load(ctx context.Context, tx Tx, numbers []string, asOf time.Time) ([]Registration, error) {
	if len(numbers) == 0 {
		return nil, nil
	}
	records, err := tx.Events(ctx, numbers, asOf)
	if err != nil {
		return nil, err
	}
	return replay(records)
}

// Registration returns the current state of the registration that any of its
// event numbers belongs to.
func (s *Service) Registration(ctx context.Context, c Caller, number string) (Registration, error) {
	if err := allow(c, auth.ReadRegistration); err != nil {
		return Registration{}, err
	}
	if err := checkNumber("number", number); err != nil {
		return Registration{}, err
	}
	regNumber, err := s.store.RegistrationNumberOf(ctx, number)
	if err != nil {
		return Registration{}, err
	}
	// Everything committed, whatever the clock says: a write's stamp can run
	// a microsecond ahead of the wall clock.
	regs, err := s.load(ctx, s.store, []string{regNumber}, farFuture)
	if err != nil {
		return Registration{}, err
	}
	if len(regs) == 0 {
		return Registration{}, ErrNotFound
	}
	return shown(c, finish(regs[0], s.clock())), nil
}

var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

func checkNumber(field, number string) error {
	if err := identity.CheckNumber(number); err != nil {
		return Invalid(field, CodeInvalidNumber, err.Error())
	}
	return nil
}

// change runs one event against an existing registration in the sequencer:
// it locks the registration, replays it as it stands at the event's instant,
// lets decide check the rules and say what to record, and commits.
func (s *Service) change(ctx context.Context, c Caller, action auth.Action, number string,
	decide func(tx Tx, st Stamp, cur Registration, state RegistrationState) (typ string, data any, err error)) (Registration, error) {
	if err := allow(c, action); err != nil {
		return Registration{}, err
	}
	if err := checkNumber("number", number); err != nil {
		return Registration{}, err
	}
	var reg Registration
	err := s.store.Sequence(ctx, StampEvent, func(tx Tx, st Stamp) error {
		return s.once(ctx, tx, c, st.At, &reg, func() error {
			state, err := tx.LockRegistration(ctx, number)
			if err != nil {
				return err
			}
			regs, err := s.load(ctx, tx, []string{state.Number}, st.At)
			if err != nil {
				return err
			}
			if len(regs) != 1 {
				return ErrNotFound
			}
			cur := finish(regs[0], st.At)
			typ, data, err := decide(tx, st, cur, state)
			if err != nil {
				return err
			}
			reg, err = s.commit(ctx, tx, c, st, action, cur, typ, data, nil)
			return err
		})
	})
	return shown(c, reg), replayed(err)
}

// isController reports whether the caller acts for the registration's
// controller. A registration assigned to an organization that had no account
// then is controlled by whichever account holds that USCC now.
func isController(ctx context.Context, tx Tx, c Caller, cur Registration) (bool, error) {
	switch {
	case c.OrganizationID == "":
		return false, nil
	case cur.Controller.OrganizationID != "":
		return c.OrganizationID == cur.Controller.OrganizationID, nil
	case cur.Controller.USCC == "":
		return false, nil
	}
	o, err := tx.Organization(ctx, c.OrganizationID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil && o.USCC == cur.Controller.USCC, err
}

// mayChange is the object-level rule for amending, extending and cancelling:
// the controller, or the holder of the modification code; then the version
// the caller expects, then whether the registration is still effective.
func mayChange(ctx context.Context, tx Tx, c Caller, cur Registration, state RegistrationState, pre Precondition) error {
	if pre.ModificationCode != "" {
		if !auth.SameSecret(normalizeModificationCode(pre.ModificationCode), state.ModificationCodeHash) {
			return refused(ErrForbidden, "the modification code is wrong or no longer valid")
		}
	} else if ok, err := isController(ctx, tx, c, cur); err != nil {
		return err
	} else if !ok {
		return refused(ErrForbidden, "only the controller, or a holder of the modification code, may change this registration")
	}
	if err := checkVersion(pre.IfMatch, cur.Version); err != nil {
		return err
	}
	if cur.Status != StatusEffective {
		return ErrNotEffective
	}
	return nil
}

// checkVersion compares an If-Match header with the registration's version
// (its ETag is the version in quotes).
func checkVersion(ifMatch string, version int) error {
	ifMatch = strings.TrimSpace(ifMatch)
	if ifMatch == "" || ifMatch == "*" {
		return nil
	}
	want := strconv.Itoa(version)
	for _, tag := range strings.Split(ifMatch, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if strings.Trim(tag, `"`) == want {
			return nil
		}
	}
	return refused(ErrVersionMismatch, "the registration is at version "+want+"; read it again before changing it")
}

// Cancel releases a registration. The controller's registrants may cancel, and
// so may any registrant presenting the registration's modification code.
func (s *Service) Cancel(ctx context.Context, c Caller, number string, pre Precondition, req Cancellation) (Registration, error) {
	if err := req.Validate(); err != nil {
		return Registration{}, err
	}
	return s.change(ctx, c, auth.CancelRegistration, number, func(tx Tx, _ Stamp, cur Registration, state RegistrationState) (string, any, error) {
		if err := mayChange(ctx, tx, c, cur, state, pre); err != nil {
			return "", nil, err
		}
		return EventCancellation, cancellationData(req), nil
	})
}
