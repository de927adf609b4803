package registry

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/identifiers"
)

// shown is a registration as c may see it: the identity numbers of
// individuals are masked for anyone but its parties, its controller, and the
// registry's staff.
func shown(c Caller, r Registration) Registration {
	if c.Has(auth.Auditor) || c.Has(auth.Admin) || isPartyOrController(c, r) {
		return r
	}
	r.Grantors = maskedParties(r.Grantors)
	r.SecuredParties = maskedParties(r.SecuredParties)
	return r
}

func isPartyOrController(c Caller, r Registration) bool {
	if c.OrganizationID != "" && c.OrganizationID == r.Controller.OrganizationID {
		return true
	}
	if c.OrganizationUSCC == "" {
		return false
	}
	if c.OrganizationUSCC == r.Controller.USCC {
		return true
	}
	for _, ps := range [][]Party{r.Grantors, r.SecuredParties} {
		for _, p := range ps {
			if p.USCC == c.OrganizationUSCC {
				return true
			}
		}
	}
	return false
}

func maskedParties(ps []Party) []Party {
	out := make([]Party, len(ps))
	for i, p := range ps {
		if p.IDNumber != "" {
			p.IDNumber = maskID(p.IDNumber)
		}
		out[i] = p
	}
	return out
}

// maskID hides everything of an identity number but the six digits of the
// place of registration (110101************). The birth date, the sequence
// and the check character all stay hidden: any one of them shown narrows a
// guess of the rest, and a search by identity number would confirm it.
func maskID(id string) string {
	if len(id) <= 6 {
		return strings.Repeat("*", len(id))
	}
	return id[:6] + strings.Repeat("*", len(id)-6)
}

// Amend changes a registration: its collateral, description, grantors,
// secured parties (an assignment, which hands control to the first new
// secured party) or maximum amount.
func (s *Service) Amend(ctx context.Context, c Caller, number string, pre Precondition, a Amendment) (Registration, error) {
	if err := allow(c, auth.AmendRegistration); err != nil {
		return Registration{}, err
	}
	if err := a.Validate(); err != nil {
		return Registration{}, err
	}
	if err := pre.Validate(); err != nil {
		return Registration{}, err
	}
	var ctrl *Controller
	if len(a.SecuredParties) > 0 {
		first := a.SecuredParties[0]
		ctrl = &Controller{USCC: first.USCC}
		if first.USCC != "" {
			o, err := s.store.OrganizationByUSCC(ctx, first.USCC)
			switch {
			case err == nil:
				ctrl.OrganizationID = o.ID
			case !errors.Is(err, ErrNotFound):
				return Registration{}, err
			}
		}
	}
	return s.change(ctx, c, auth.AmendRegistration, number, func(tx Tx, st Stamp, cur Registration, state RegistrationState) (string, any, error) {
		if err := mayChange(ctx, tx, c, cur, state, pre); err != nil {
			return "", nil, err
		}
		data, err := a.against(cur, st)
		if err != nil {
			return "", nil, err
		}
		if data.AddAttachments, err = s.attachments(ctx, tx, c, "add_attachments", a.AddAttachments, cur.Collateral.Attachments); err != nil {
			return "", nil, err
		}
		data.Controller = ctrl
		return EventAmendment, data, nil
	})
}

// against checks an amendment against the registration it changes and turns
// it into what the event records.
func (a *Amendment) against(cur Registration, st Stamp) (amendmentData, error) {
	var p problems
	items := slices.Clone(cur.Collateral.Items)
	for i, id := range a.RemoveItemIDs {
		j := slices.IndexFunc(items, func(it Item) bool { return it.ID == id })
		if j < 0 {
			p.broke(fmt.Sprintf("remove_item_ids[%d]", i), RuleItemID, "is not an item of this registration")
			continue
		}
		items = slices.Delete(items, j, j+1)
	}
	kept := make(map[string]string, len(items)) // serial key → item id
	for _, it := range items {
		kept[identifiers.SerialKey(it.SerialNumber)] = it.ID
	}
	added := newItems(st, a.AddItems)
	for i, it := range added {
		if id, dup := kept[identifiers.SerialKey(it.SerialNumber)]; dup {
			p.broke(fmt.Sprintf("add_items[%d].serial_number", i), RuleItemRegistered, "is already registered as item "+id)
		}
	}
	if len(items)+len(added) > maxItems {
		p.broke("add_items", RuleAtMost, fmt.Sprintf("a registration may have at most %d items", maxItems), "max", maxItems)
	}
	grantors := slices.Clone(cur.Grantors)
	for i, g := range a.RemoveGrantors {
		j := findParty(grantors, g)
		if j < 0 {
			p.broke(fmt.Sprintf("remove_grantors[%d]", i), RuleNotGrantor, "is not a grantor of this registration")
			continue
		}
		grantors = slices.Delete(grantors, j, j+1)
	}
	for i, rn := range a.RenameGrantors {
		j := findParty(grantors, rn.From)
		if j < 0 {
			p.broke(fmt.Sprintf("rename_grantors[%d].from", i), RuleNotGrantor, "is not a grantor of this registration")
			continue
		}
		grantors[j] = rn.To
	}
	for i, g := range a.AddGrantors {
		if findParty(grantors, g) >= 0 {
			p.broke(fmt.Sprintf("add_grantors[%d]", i), RuleAlreadyGrantor, "is already a grantor of this registration")
		}
		grantors = append(grantors, g)
	}
	switch {
	case len(grantors) == 0:
		p.broke("remove_grantors", RuleLastGrantor, "would leave the registration without a grantor")
	case len(grantors) > maxParties:
		p.broke("add_grantors", RuleAtMost, fmt.Sprintf("a registration may have at most %d grantors", maxParties), "max", maxParties)
	}
	if err := p.err(); err != nil {
		return amendmentData{}, err
	}
	return amendmentData{
		Description: a.Description, AddItems: added, RemoveItemIDs: a.RemoveItemIDs,
		AddGrantors: a.AddGrantors, RemoveGrantors: a.RemoveGrantors, RenameGrantors: a.RenameGrantors,
		SecuredParties: a.SecuredParties, MaxSecuredAmount: a.MaxSecuredAmount, Note: a.Note,
	}, nil
}

// Extend adds months to a registration's expiry, within the window before it.
func (s *Service) Extend(ctx context.Context, c Caller, number string, pre Precondition, e Extension) (Registration, error) {
	if err := allow(c, auth.ExtendRegistration); err != nil {
		return Registration{}, err
	}
	if err := e.Validate(); err != nil {
		return Registration{}, err
	}
	if err := pre.Validate(); err != nil {
		return Registration{}, err
	}
	return s.change(ctx, c, auth.ExtendRegistration, number, func(tx Tx, st Stamp, cur Registration, state RegistrationState) (string, any, error) {
		if err := mayChange(ctx, tx, c, cur, state, pre); err != nil {
			return "", nil, err
		}
		if days := s.cfg.ExtensionWindowDays; days > 0 {
			opens := cur.ExpiresAt.In(Shanghai).AddDate(0, 0, -days).UTC()
			if st.At.Before(opens) {
				return "", nil, &ExtensionTooEarlyError{Opens: At(opens), Days: days}
			}
		}
		return EventExtension, extensionData{PeriodMonths: e.PeriodMonths, ExpiresAt: At(AddMonths(cur.ExpiresAt.Time, e.PeriodMonths))}, nil
	})
}

// RotateModificationCode issues the registration a new modification code; the
// old one stops working. Only the controller may. It is not a registry event
// (the code is a credential, not part of the register), but it is audited.
func (s *Service) RotateModificationCode(ctx context.Context, c Caller, number string) (ModificationCode, error) {
	if err := allow(c, auth.RotateModificationCode); err != nil {
		return ModificationCode{}, err
	}
	if err := checkNumber("number", number); err != nil {
		return ModificationCode{}, err
	}
	var out ModificationCode
	at := s.clock()
	err := s.store.InTx(ctx, func(tx Tx) error {
		return s.once(ctx, tx, c, at, &out, func() error {
			state, err := tx.LockRegistration(ctx, number)
			if err != nil {
				return err
			}
			regs, err := s.load(ctx, tx, []string{state.Number}, farFuture)
			if err != nil {
				return err
			}
			if len(regs) != 1 {
				return ErrNotFound
			}
			cur := finish(regs[0], at)
			if ok, err := isController(ctx, tx, c, cur); err != nil {
				return err
			} else if !ok {
				return refused(ErrForbidden, "only the controller may rotate the modification code")
			}
			if cur.Status != StatusEffective {
				return ErrNotEffective
			}
			out.ModificationCode = newModificationCode()
			if err := tx.SetModificationCode(ctx, state.Number, auth.HashSecret(out.ModificationCode)); err != nil {
				return err
			}
			return tx.InsertAudit(ctx, s.entry(c, auth.RotateModificationCode, state.Number, at))
		})
	})
	return out, replayed(err)
}

// Revoke revokes a registration, or only one of its objections, on the
// authority of an effective judgment, ruling or award (admins).
func (s *Service) Revoke(ctx context.Context, c Caller, number string, req Revocation) (Registration, error) {
	if err := allow(c, auth.Revoke); err != nil {
		return Registration{}, err
	}
	if err := req.Validate(); err != nil {
		return Registration{}, err
	}
	return s.change(ctx, c, auth.Revoke, number, func(tx Tx, st Stamp, cur Registration, _ RegistrationState) (string, any, error) {
		typ := EventRevocation
		if req.Objection != "" {
			typ = EventObjectionRevocation
			o := cur.objection(req.Objection)
			if o == nil {
				return "", nil, Invalid("objection", CodeInvalidField, "is not an objection to this registration")
			}
			if o.Status != ObjectionActive && o.Status != ObjectionLitigating {
				return "", nil, refused(ErrObjectionNotActive, "the objection is "+o.Status)
			}
		} else if cur.ended != "" {
			return "", nil, ErrNotEffective
		}
		return typ, revocationData(req), nil
	})
}

// Registration list limits (docs/api.md).
const (
	defaultPage = 50
	maxPage     = 500
)

// Registrations lists the caller's organization's registrations, oldest
// first, a page at a time.
func (s *Service) Registrations(ctx context.Context, c Caller, req ListRequest) (RegistrationPage, error) {
	if err := allow(c, auth.ListRegistrations); err != nil {
		return RegistrationPage{}, err
	}
	var p problems
	if req.Controller != "" && req.Controller != "mine" {
		p.add("controller", CodeInvalidField, `must be "mine"`)
	}
	statuses := []string{StatusEffective, StatusExpired, StatusCancelled, StatusRevoked}
	if req.Status != "" {
		checkEnum(&p, "status", req.Status, statuses)
	}
	f := ListFilter{ControllerID: c.OrganizationID, Status: req.Status, Now: s.clock()}
	var limit int
	limit, f.After = readPage(&p, req.Limit, req.Cursor, func(s string) bool { return identifiers.CheckNumber(s) == nil })
	if err := p.err(); err != nil {
		return RegistrationPage{}, err
	}
	f.Limit = limit + 1
	numbers, err := s.store.ListRegistrations(ctx, f)
	if err != nil {
		return RegistrationPage{}, err
	}
	page := pageOf(numbers, limit, func(n string) string { return n })
	regs, err := s.load(ctx, s.store, page.Items, farFuture)
	if err != nil {
		return RegistrationPage{}, err
	}
	out := RegistrationPage{Items: make([]Registration, 0, len(regs)), NextCursor: page.NextCursor,
		after: func(r Registration) string { return cursorOf(r.Number) }}
	for _, r := range regs {
		out.Items = append(out.Items, shown(c, finish(r, f.Now)))
	}
	return out, nil
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
	return s.file(ctx, c, func(Tx) (Filing, error) { return f, nil })
}

// file files the filing that filing gives, read in the filing's own
// transaction after its Idempotency-Key is claimed (a draft is read, checked
// and removed there: a retry finds the first answer, not a draft gone).
func (s *Service) file(ctx context.Context, c Caller, filing func(Tx) (Filing, error)) (Registration, error) {
	// The controller is the caller's organization, as its token names it
	// (an organization's USCC never changes): no read is needed.
	ctrl := Organization{ID: c.OrganizationID, USCC: c.OrganizationUSCC}
	if ctrl.ID == "" || ctrl.USCC == "" {
		var err error
		if ctrl, err = s.store.Organization(ctx, c.OrganizationID); err != nil {
			return Registration{}, err
		}
	}
	code := newModificationCode()
	var reg Registration
	err := s.store.Sequence(ctx, StampEvent, func(tx Tx, st Stamp) error {
		return s.once(ctx, tx, c, st.At, &reg, func() error {
			f, err := filing(tx)
			if err != nil {
				return err
			}
			data := initial(ctrl, f, st)
			if data.Collateral.Attachments, err = s.attachments(ctx, tx, c, "collateral.attachments", f.Collateral.Attachments, nil); err != nil {
				return err
			}
			reg, err = s.recordEvent(ctx, tx, c, st, auth.FileRegistration, Registration{}, EventInitial, data, auth.HashSecret(code))
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

// PrepareFiling works out what filing f at stamp st writes, exactly as File
// would, without writing it: for a loader that writes many registrations at
// once (registry-bench's preload, through postgres.Bulk). It makes File's
// checks: c must be a registrant of ctrl, and f must be valid.
func (s *Service) PrepareFiling(c Caller, ctrl Organization, f Filing, st Stamp) (Written, error) {
	if err := allow(c, auth.FileRegistration); err != nil {
		return Written{}, err
	}
	if ctrl.ID == "" || ctrl.ID != c.OrganizationID {
		return Written{}, refused(ErrForbidden, "a registrant files for its own organization only")
	}
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

// recordEvent records one registry event inside its sequenced transaction: the
// immutable event, the current-state row and search index brought up to
// date, and the audit entry. It returns the registration as it now stands.
// cur is the registration before the event (empty for an initial
// registration).
func (s *Service) recordEvent(ctx context.Context, tx Tx, c Caller, st Stamp, action auth.Action, cur Registration, typ string, data any, codeHash []byte) (Registration, error) {
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
	if d, ok := statOf(typ, w.State, st.At); ok {
		if err := tx.CountStatistic(ctx, d); err != nil {
			return Registration{}, err
		}
	}
	if err := s.notices(ctx, tx, c, st, cur, w.State, typ); err != nil {
		return Registration{}, err
	}
	if err := s.matchWatches(ctx, tx, c, st, cur, w.State, typ); err != nil {
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
	r, err := s.replayed(ctx, number)
	if err != nil {
		return Registration{}, err
	}
	if err := s.readRegister(ctx, c, number, r); err != nil {
		return Registration{}, err
	}
	return shown(c, finish(r, s.clock())), nil
}

// readRegister lets a caller read r, asked for by number, when it is one
// of r's parties, its controller, or the registry's staff; anyone else is
// reading the register, which is searching it: it needs the searcher role,
// and leaves an audit entry, written before the registration is given, so
// that numbers tried in order (they are computable) leave a trace whether
// they are found or not.
func (s *Service) readRegister(ctx context.Context, c Caller, number string, r Registration) error {
	if c.Has(auth.Auditor) || c.Has(auth.Admin) || isPartyOrController(c, r) {
		return nil
	}
	if !c.CanBeyondOwn(auth.ReadRegistration) {
		return &Refusal{Kind: ErrForbidden, Roles: auth.RolesBeyondOwn(auth.ReadRegistration),
			Detail: "a registration its organization is not a party to is read as a search of the register: this needs the searcher role"}
	}
	return s.store.InsertAudit(ctx, s.entry(c, auth.ReadRegistration, number, s.clock()))
}

// replayed replays, not yet finished at an instant, the registration that
// any of its event numbers belongs to, from every committed event: whatever
// the clock says, since a write's stamp can run a microsecond ahead of the
// wall clock.
func (s *Service) replayed(ctx context.Context, number string) (Registration, error) {
	if err := checkNumber("number", number); err != nil {
		return Registration{}, err
	}
	regNumber, err := s.store.RegistrationNumberOf(ctx, number)
	if err != nil {
		return Registration{}, err
	}
	regs, err := s.load(ctx, s.store, []string{regNumber}, farFuture)
	if err != nil {
		return Registration{}, err
	}
	if len(regs) == 0 {
		return Registration{}, ErrNotFound
	}
	return regs[0], nil
}

var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

func checkNumber(field, number string) error {
	if err := identifiers.CheckNumber(number); err != nil {
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
			reg, err = s.recordEvent(ctx, tx, c, st, action, cur, typ, data, nil)
			return err
		})
	})
	return shown(c, reg), replayed(err)
}

// isController reports whether the caller acts for the registration's
// controller. A registration assigned to an organization that had no account
// then is controlled by whichever account holds that USCC now.
// Controls reports whether c may change r as its controller, without its
// modification code: a registrant of the controlling organization, also
// when control passed to that organization by its USCC before it had an
// account.
func (s *Service) Controls(ctx context.Context, c Caller, r Registration) (bool, error) {
	if !c.Has(auth.Registrant) {
		return false, nil
	}
	return isController(ctx, s.store, c, r)
}

func isController(ctx context.Context, tx Tx, c Caller, cur Registration) (bool, error) {
	switch {
	case c.OrganizationID == "":
		return false, nil
	case cur.Controller.OrganizationID != "":
		return c.OrganizationID == cur.Controller.OrganizationID, nil
	case cur.Controller.USCC == "":
		return false, nil
	case c.OrganizationUSCC != "":
		// The token names the caller's organization's USCC, which never
		// changes: no read is needed.
		return c.OrganizationUSCC == cur.Controller.USCC, nil
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

// checkVersion compares an If-Match header (which validate has found
// well-formed) with the registration's version: one of its tags must name it.
func checkVersion(ifMatch string, version int) error {
	versions, anyVersion, _ := ifMatchVersions(ifMatch)
	if anyVersion || slices.Contains(versions, version) {
		return nil
	}
	return refused(ErrVersionMismatch, "the registration is at version "+strconv.Itoa(version)+"; read it again before changing it")
}

// ifMatchVersions reads an If-Match header: absent or * matches any
// version (anyVersion); else each of its comma-separated tags is a version, as
// the ETag gives it ("3"), weak (W/"3") or without its quotes (3). ok is
// false when a tag is not a version at all.
func ifMatchVersions(h string) (versions []int, anyVersion, ok bool) {
	h = strings.TrimSpace(h)
	if h == "" || h == "*" {
		return nil, true, true
	}
	for _, tag := range strings.Split(h, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "" {
			continue // an empty element of a list, which HTTP allows
		}
		if strings.HasPrefix(tag, `"`) {
			if len(tag) < 2 || !strings.HasSuffix(tag, `"`) {
				return nil, false, false
			}
			tag = tag[1 : len(tag)-1]
		}
		if tag == "" || len(tag) > 9 || strings.Trim(tag, "0123456789") != "" {
			return nil, false, false
		}
		v, _ := strconv.Atoi(tag)
		versions = append(versions, v)
	}
	return versions, false, len(versions) > 0
}

// Validate checks what a change presents besides its body: an If-Match
// that is not an ETag at all (abc) is bad input, not a stale version.
func (p Precondition) Validate() error {
	if _, _, ok := ifMatchVersions(p.IfMatch); !ok {
		return Invalid("If-Match", CodeInvalidField, `is not an ETag this API gives: send the ETag last read (a version, as "3"), several separated by commas, or *`)
	}
	return nil
}

// Cancel releases a registration. The controller's registrants may cancel, and
// so may any registrant presenting the registration's modification code.
func (s *Service) Cancel(ctx context.Context, c Caller, number string, pre Precondition, req Cancellation) (Registration, error) {
	if err := req.Validate(); err != nil {
		return Registration{}, err
	}
	if err := pre.Validate(); err != nil {
		return Registration{}, err
	}
	return s.change(ctx, c, auth.CancelRegistration, number, func(tx Tx, _ Stamp, cur Registration, state RegistrationState) (string, any, error) {
		if err := mayChange(ctx, tx, c, cur, state, pre); err != nil {
			return "", nil, err
		}
		return EventCancellation, cancellationData(req), nil
	})
}

// RegistrationState is what a write needs to know about a registration
// beyond its events; reading it locks the registration until the write commits.
type RegistrationState struct {
	Number               string
	ModificationCodeHash []byte
}

// RegistrationHead is the row that stands for a registration's current state
// where writes lock it and lists filter it; its content comes from its events.
type RegistrationHead struct {
	Number         string
	Kind           string
	RegisteredAt   time.Time
	ExpiresAt      time.Time
	ControllerID   string
	ControllerUSCC string
	// Status is effective, cancelled or revoked: expiry follows from the clock.
	Status  string
	EndedAt *time.Time
}

// Index roles of parties: grantors and secured parties as registered, and
// the former names of renamed grantors.
const (
	RoleGrantor       = "grantor"
	RoleSecuredParty  = "secured_party"
	RoleFormerGrantor = "former_grantor"
)

// IndexedParty is a party as the search index holds it.
type IndexedParty struct {
	Role string
	Party
}

// ListFilter selects one page of an organization's registrations.
type ListFilter struct {
	ControllerID string
	// Status is empty for any, or a status as it stands at Now.
	Status string
	Now    time.Time
	// After is the last registration number of the previous page.
	After string
	Limit int
}

// Kinds of security interest the register covers (docs/rules.md).
var Kinds = []string{"chattel_mortgage", "receivables_pledge", "document_pledge", "financial_lease", "factoring", "retention_of_title", "other"}

// ItemTypes are the kinds of serial-numbered collateral items.
var ItemTypes = []string{"equipment", "vehicle", "vessel", "aircraft", "inventory", "receivable", "other"}

// CancellationReasons are the reasons a registration may be cancelled for.
var CancellationReasons = []string{"debt_repaid", "security_realised", "security_waived", "other"}

// Registration statuses.
const (
	StatusEffective = "effective"
	StatusExpired   = "expired"
	StatusCancelled = "cancelled"
	StatusRevoked   = "revoked"
)

// Party is a grantor or a secured party: an organization with a USCC, an
// organization registered outside mainland China, or an individual.
type Party struct {
	Type               string `json:"type"`
	Name               string `json:"name"`
	USCC               string `json:"uscc,omitempty"`
	Country            string `json:"country,omitempty"`
	RegistrationNumber string `json:"registration_number,omitempty"`
	LEI                string `json:"lei,omitempty"`
	IDNumber           string `json:"id_number,omitempty"`
	// IDCommitment stands for IDNumber in the record the log commits to
	// (commitments.go); never part of a request or of what is served.
	IDCommitment string `json:"id_commitment,omitempty"`
	Address      string `json:"address,omitempty"`
	// FormerNames are the names a renamed grantor carried before, oldest
	// first; the register keeps them searchable. Never part of a request.
	FormerNames []string `json:"former_names,omitempty"`
}

// Money is a decimal amount with its ISO 4217 currency.
type Money struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// ItemInput is a serial-numbered collateral item as a filer declares it.
type ItemInput struct {
	Type         string `json:"type"`
	SerialNumber string `json:"serial_number"`
	Description  string `json:"description,omitempty"`
}

// CollateralInput is the collateral as a filer declares it.
type CollateralInput struct {
	Description string      `json:"description"`
	Items       []ItemInput `json:"items"`
	// Attachments name files uploaded before (POST /attachments), such as
	// the collateral list, by id.
	Attachments []string `json:"attachments,omitempty"`
}

// Filing is the content of an initial registration.
type Filing struct {
	Kind             string          `json:"kind"`
	Grantors         []Party         `json:"grantors"`
	SecuredParties   []Party         `json:"secured_parties"`
	Collateral       CollateralInput `json:"collateral"`
	PeriodMonths     int             `json:"period_months"`
	MaxSecuredAmount *Money          `json:"max_secured_amount,omitempty"`
	Reference        string          `json:"reference,omitempty"`
}

// Item is a registered collateral item, with its own priority time.
type Item struct {
	ID           string `json:"id"`
	Type         string `json:"type"`
	SerialNumber string `json:"serial_number"`
	Description  string `json:"description,omitempty"`
	RegisteredAt Time   `json:"registered_at"`
}

// Collateral is the registered collateral.
type Collateral struct {
	Description string `json:"description"`
	Items       []Item `json:"items"`
	// Attachments are the files the filing named, with their SHA-256: the
	// log certifies the files through them.
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Controller is the organization that controls a registration.
type Controller struct {
	OrganizationID string `json:"organization_id"`
	USCC           string `json:"uscc,omitempty"`
}

// Actor names who filed an event.
type Actor struct {
	OrganizationID string `json:"organization_id"`
}

// HistoryEntry is one event in a registration's life.
type HistoryEntry struct {
	Number       string `json:"number"`
	Type         string `json:"type"`
	RegisteredAt Time   `json:"registered_at"`
	By           Actor  `json:"by"`
	LogIndex     int64  `json:"log_index"`
	// Objection names the objection an objection's later event concerns.
	Objection string `json:"objection,omitempty"`
}

// Registration is the state of a registration at some instant, derived from
// its events, in the form the API shows it.
type Registration struct {
	Number           string         `json:"number"`
	Kind             string         `json:"kind"`
	Status           string         `json:"status"`
	RegisteredAt     Time           `json:"registered_at"`
	ExpiresAt        Time           `json:"expires_at"`
	Version          int            `json:"version"`
	Controller       Controller     `json:"controller"`
	Grantors         []Party        `json:"grantors"`
	SecuredParties   []Party        `json:"secured_parties"`
	Collateral       Collateral     `json:"collateral"`
	PeriodMonths     int            `json:"period_months"`
	MaxSecuredAmount *Money         `json:"max_secured_amount,omitempty"`
	Reference        string         `json:"reference,omitempty"`
	Objections       []Objection    `json:"objections"`
	History          []HistoryEntry `json:"history"`
	ModificationCode string         `json:"modification_code,omitempty"`
	// LogIndex is the log position of the registration's latest event shown.
	LogIndex int64 `json:"log_index"`
	// EndedAt is when a cancellation or revocation ended the registration.
	EndedAt *Time `json:"ended_at,omitempty"`

	ended string // cancelled or revoked, by an event
}

// Cancellation is a request to release a registration.
type Cancellation struct {
	Reason string `json:"reason"`
	Note   string `json:"note,omitempty"`
}

// Rename replaces a grantor's details, its name above all; the former name
// stays searchable.
type Rename struct {
	From Party `json:"from"`
	To   Party `json:"to"`
}

// Amendment changes a registration (docs/api.md). Every field is
// optional; at least one must change something.
type Amendment struct {
	AddItems         []ItemInput `json:"add_items,omitempty"`
	RemoveItemIDs    []string    `json:"remove_item_ids,omitempty"`
	Description      *string     `json:"description,omitempty"`
	AddGrantors      []Party     `json:"add_grantors,omitempty"`
	RemoveGrantors   []Party     `json:"remove_grantors,omitempty"`
	RenameGrantors   []Rename    `json:"rename_grantors,omitempty"`
	SecuredParties   []Party     `json:"secured_parties,omitempty"`
	MaxSecuredAmount *Money      `json:"max_secured_amount,omitempty"`
	Note             string      `json:"note,omitempty"`
	// AddAttachments name more of the organization's uploads by id.
	AddAttachments []string `json:"add_attachments,omitempty"`
}

// Extension adds months to a registration's expiry.
type Extension struct {
	PeriodMonths int `json:"period_months"`
}

// Precondition is what a change presents besides its body: the modification
// code of a non-controller, and the version it expects (If-Match).
type Precondition struct {
	ModificationCode string
	IfMatch          string
}

// Revocation revokes a registration, or only one of its objections, on the
// authority of an effective judgment, ruling or award.
type Revocation struct {
	Objection      string `json:"objection,omitempty"`
	Authority      string `json:"authority"`
	DocumentNumber string `json:"document_number"`
	Note           string `json:"note,omitempty"`
}

// ModificationCode is a newly issued modification code, shown once.
type ModificationCode struct {
	ModificationCode string `json:"modification_code"`
}

// ListRequest asks for the caller's organization's registrations.
type ListRequest struct {
	Controller string
	Status     string
	Cursor     string
	Limit      string
}

// RegistrationPage is one page of a list of registrations.
type RegistrationPage = Page[Registration]

// checkParty validates a party and puts its identifiers in stored form.
func checkParty(p *problems, field string, party *Party) {
	if party.FormerNames != nil {
		p.add(field+".former_names", CodeInvalidField, "is kept by the register from renames; do not send it")
	}
	if party.IDCommitment != "" {
		p.add(field+".id_commitment", CodeInvalidField, "is made by the register for its log; send id_number")
	}
	party.Name = checkText(p, field+".name", party.Name, true, maxName)
	party.Address = checkText(p, field+".address", party.Address, false, maxText)
	switch party.Type {
	case "organization":
		if party.IDNumber != "" {
			p.broke(field+".id_number", RuleOrganizationID, "an organization has no identity number; use uscc")
		}
		domestic := party.USCC != "" || party.Country == ""
		if domestic {
			if party.Country != "" && party.Country != "CN" {
				p.broke(field+".country", RuleDomesticCountry, "an organization with a USCC is registered in mainland China; leave country out")
			}
			if party.USCC == "" {
				p.broke(field+".uscc", RuleUSCCOrForeign, "is required (or country and registration_number for an organization registered outside mainland China)")
			} else {
				party.USCC = checkID(p, field+".uscc", CodeInvalidUSCC, "USCC", party.USCC, identifiers.CanonicalUSCC)
			}
			party.Country = ""
			if party.RegistrationNumber != "" {
				p.broke(field+".registration_number", RuleForeignOnly, "is only for an organization registered outside mainland China")
			}
		} else {
			party.Country = strings.ToUpper(strings.TrimSpace(party.Country))
			if r, err := language.ParseRegion(party.Country); err != nil || !r.IsCountry() || len(party.Country) != 2 {
				p.broke(field+".country", RuleCountry, fmt.Sprintf("%q is not an ISO 3166-1 alpha-2 country code", party.Country), "value", party.Country)
			} else if party.Country == "CN" {
				p.broke(field+".uscc", RuleDomesticUSCC, "an organization registered in mainland China is identified by its uscc")
			}
			party.RegistrationNumber = checkText(p, field+".registration_number", party.RegistrationNumber, true, maxSerial)
		}
		if party.LEI != "" {
			party.LEI = checkID(p, field+".lei", CodeInvalidLEI, "LEI", party.LEI, identifiers.CanonicalLEI)
		}
	case "individual":
		for f, v := range map[string]string{"uscc": party.USCC, "lei": party.LEI, "country": party.Country, "registration_number": party.RegistrationNumber} {
			if v != "" {
				p.broke(field+"."+f, RuleIndividualID, "an individual is identified by id_number only")
			}
		}
		if party.IDNumber == "" {
			p.broke(field+".id_number", RuleRequired, "is required for an individual")
		} else {
			party.IDNumber = checkID(p, field+".id_number", CodeInvalidIDNumber, "identity number", party.IDNumber, identifiers.CanonicalIDNumber)
		}
	default:
		checkEnum(p, field+".type", party.Type, []string{"organization", "individual"})
	}
}

func checkParties(p *problems, field string, parties []Party) {
	if len(parties) == 0 {
		p.broke(field, RuleAtLeastOne, "at least one is required")
		return
	}
	if len(parties) > maxParties {
		p.broke(field, RuleAtMost, fmt.Sprintf("at most %d are allowed", maxParties), "max", maxParties)
		return
	}
	for i := range parties {
		checkParty(p, fmt.Sprintf("%s[%d]", field, i), &parties[i])
	}
}

func checkMoney(p *problems, field string, m *Money) {
	if m == nil {
		return
	}
	if !amountPattern.MatchString(m.Amount) {
		p.broke(field+".amount", RuleAmount, "must be a decimal string with at most two decimals, such as \"5000000.00\"")
	} else if r, _ := new(big.Rat).SetString(m.Amount); r.Sign() <= 0 {
		p.broke(field+".amount", RulePositive, "must be greater than zero")
	} else {
		m.Amount = r.FloatString(2) // stored and shown with two decimals
	}
	if u, err := currency.ParseISO(m.Currency); err != nil || u.String() != m.Currency {
		p.broke(field+".currency", RuleCurrency, fmt.Sprintf("%q is not an ISO 4217 currency code", m.Currency), "value", m.Currency)
	}
}

// Validate checks a filing and puts its identifiers in stored form.
func (f *Filing) Validate() error {
	var p problems
	checkEnum(&p, "kind", f.Kind, Kinds)
	checkParties(&p, "grantors", f.Grantors)
	checkParties(&p, "secured_parties", f.SecuredParties)
	f.Collateral.Description = checkText(&p, "collateral.description", f.Collateral.Description, true, maxDescription)
	checkItems(&p, "collateral.items", f.Collateral.Items)
	if f.PeriodMonths < 1 || f.PeriodMonths > maxPeriod {
		p.broke("period_months", RulePeriod, fmt.Sprintf("must be a whole number of months from 1 to %d", maxPeriod), "max", maxPeriod)
	}
	checkMoney(&p, "max_secured_amount", f.MaxSecuredAmount)
	f.Reference = checkText(&p, "reference", f.Reference, false, maxSerial)
	return p.err()
}

func checkItems(p *problems, field string, items []ItemInput) {
	if len(items) > maxItems {
		p.broke(field, RuleAtMost, fmt.Sprintf("at most %d are allowed", maxItems), "max", maxItems)
		return
	}
	seen := map[string]int{}
	for i := range items {
		it := &items[i]
		f := fmt.Sprintf("%s[%d]", field, i)
		checkEnum(p, f+".type", it.Type, ItemTypes)
		it.SerialNumber = checkText(p, f+".serial_number", it.SerialNumber, true, maxSerial)
		it.Description = checkText(p, f+".description", it.Description, false, maxText)
		key := identifiers.SerialKey(it.SerialNumber)
		if it.SerialNumber != "" && key == "" {
			p.broke(f+".serial_number", RuleLettersOrDigits, "must contain letters or digits")
		}
		if key != "" {
			if j, dup := seen[key]; dup {
				p.broke(f+".serial_number", RuleRepeats, fmt.Sprintf("repeats %s[%d]", field, j))
			}
			seen[key] = i
		}
	}
}

// Validate checks an amendment on its own; against checks it against the
// registration it changes.
func (a *Amendment) Validate() error {
	var p problems
	if len(a.AddItems) == 0 && len(a.RemoveItemIDs) == 0 && a.Description == nil && len(a.AddGrantors) == 0 &&
		len(a.RemoveGrantors) == 0 && len(a.RenameGrantors) == 0 && a.SecuredParties == nil && a.MaxSecuredAmount == nil && len(a.AddAttachments) == 0 {
		p.broke("amendment", RuleChangesNothing, "changes nothing: give at least one of add_items, remove_item_ids, description, add_grantors, remove_grantors, rename_grantors, secured_parties, max_secured_amount, add_attachments")
		return p.err()
	}
	checkItems(&p, "add_items", a.AddItems)
	seen := map[string]int{}
	for i, id := range a.RemoveItemIDs {
		field := fmt.Sprintf("remove_item_ids[%d]", i)
		if j, dup := seen[id]; dup {
			p.broke(field, RuleRepeats, fmt.Sprintf("repeats remove_item_ids[%d]", j))
		}
		seen[id] = i
		if id == "" || len(id) > maxSerial {
			p.broke(field, RuleItemID, "is not an item id")
		}
	}
	if a.Description != nil {
		d := checkText(&p, "description", *a.Description, true, maxDescription)
		a.Description = &d
	}
	for _, list := range []struct {
		field   string
		parties []Party
	}{{"add_grantors", a.AddGrantors}, {"remove_grantors", a.RemoveGrantors}} {
		if len(list.parties) > maxParties {
			p.broke(list.field, RuleAtMost, fmt.Sprintf("at most %d are allowed", maxParties), "max", maxParties)
			continue
		}
		for i := range list.parties {
			checkParty(&p, fmt.Sprintf("%s[%d]", list.field, i), &list.parties[i])
		}
	}
	if len(a.RenameGrantors) > maxParties {
		p.broke("rename_grantors", RuleAtMost, fmt.Sprintf("at most %d are allowed", maxParties), "max", maxParties)
	} else {
		for i := range a.RenameGrantors {
			rn := &a.RenameGrantors[i]
			field := fmt.Sprintf("rename_grantors[%d]", i)
			checkParty(&p, field+".from", &rn.From)
			checkParty(&p, field+".to", &rn.To)
			if rn.From.Type != rn.To.Type {
				p.add(field+".to.type", CodeInvalidField, "must be the same kind of party as from")
			}
		}
	}
	if a.SecuredParties != nil {
		checkParties(&p, "secured_parties", a.SecuredParties)
	}
	checkMoney(&p, "max_secured_amount", a.MaxSecuredAmount)
	a.Note = checkText(&p, "note", a.Note, false, maxText)
	return p.err()
}

// Validate checks an extension.
func (e Extension) Validate() error {
	if e.PeriodMonths < 1 || e.PeriodMonths > maxPeriod {
		return Broke("period_months", RulePeriod, fmt.Sprintf("must be a whole number of months from 1 to %d", maxPeriod), "max", maxPeriod)
	}
	return nil
}

// Validate checks a revocation.
func (r *Revocation) Validate() error {
	var p problems
	r.Authority = checkText(&p, "authority", r.Authority, true, maxName)
	r.DocumentNumber = checkText(&p, "document_number", r.DocumentNumber, true, maxSerial)
	r.Note = checkText(&p, "note", r.Note, false, maxText)
	if r.Objection != "" {
		if err := identifiers.CheckNumber(r.Objection); err != nil {
			p.add("objection", CodeInvalidNumber, err.Error())
		}
	}
	return p.err()
}

// Validate checks a cancellation.
func (c *Cancellation) Validate() error {
	var p problems
	checkEnum(&p, "reason", c.Reason, CancellationReasons)
	c.Note = checkText(&p, "note", c.Note, false, maxText)
	return p.err()
}

// RegistrationStore keeps registrations: their events, their state and the rows a search finds them by.
type RegistrationStore interface {
	InsertEvent(ctx context.Context, e EventRecord) error
	// Events returns the events of the given registrations registered at or
	// before asOf, in log order.
	Events(ctx context.Context, registrationNumbers []string, asOf time.Time) ([]EventRecord, error)
	RegistrationNumberOf(ctx context.Context, anyNumber string) (string, error)
	InsertRegistration(ctx context.Context, h RegistrationHead, modificationCodeHash []byte) error
	UpdateRegistration(ctx context.Context, h RegistrationHead) error
	SetModificationCode(ctx context.Context, number string, hash []byte) error
	LockRegistration(ctx context.Context, anyNumber string) (RegistrationState, error)
	// IndexParties ends the registration's current index rows for parties at
	// at and starts these in their place.
	IndexParties(ctx context.Context, number string, at time.Time, parties []IndexedParty) error
	InsertItems(ctx context.Context, number string, items []Item) error
	RemoveItems(ctx context.Context, number string, ids []string, at time.Time) error
	ListRegistrations(ctx context.Context, f ListFilter) ([]string, error)
}
