package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/identity"
)

// objectionPeriodDays is how long an objection stands without a case notice
// (Measures for Unified Registration, art. 29: 30 days).
const objectionPeriodDays = 30

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
		kept[identity.SerialKey(it.SerialNumber)] = it.ID
	}
	added := newItems(st, a.AddItems)
	for i, it := range added {
		if id, dup := kept[identity.SerialKey(it.SerialNumber)]; dup {
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
	return s.change(ctx, c, auth.ExtendRegistration, number, func(tx Tx, st Stamp, cur Registration, state RegistrationState) (string, any, error) {
		if err := mayChange(ctx, tx, c, cur, state, pre); err != nil {
			return "", nil, err
		}
		if days := s.cfg.ExtensionWindowDays; days > 0 {
			opens := cur.ExpiresAt.In(Shanghai).AddDate(0, 0, -days).UTC()
			if st.At.Before(opens) {
				return "", nil, refused(ErrExtensionWindowClosed, fmt.Sprintf(
					"a registration may be extended only in the last %d days before it expires; this one's window opens at %s",
					days, opens.Format(time.RFC3339Nano)))
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

// FileObjection registers an objection against a registration: by a
// registrant of a grantor organization, or of another organization that
// states its interest. The controller is notified.
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
		grantor := slices.ContainsFunc(cur.Grantors, func(g Party) bool { return g.USCC != "" && g.USCC == org.USCC })
		if !grantor && req.Interest == "" {
			return "", nil, Invalid("interest", CodeInvalidField, "an organization that is not a grantor of this registration must state its interest")
		}
		lapses := st.At.In(Shanghai).AddDate(0, 0, objectionPeriodDays).UTC()
		if err := s.notify(ctx, tx, cur, st, EventObjection); err != nil {
			return "", nil, err
		}
		if err := tx.InsertObjectionDeadline(ctx, st.Number, cur.Number, lapses); err != nil {
			return "", nil, err
		}
		return EventObjection, objectionData{Statement: req.Statement, Interest: req.Interest, LapsesAt: At(lapses)}, nil
	})
	return lastObjection(reg, err)
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

func (s *Service) notify(ctx context.Context, tx Tx, cur Registration, st Stamp, kind string) error {
	return tx.InsertNotification(ctx, Notification{OrganizationID: cur.Controller.OrganizationID,
		RegistrationNumber: cur.Number, EventNumber: st.Number, Kind: kind, At: st.At})
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
		if err := s.notify(ctx, tx, cur, st, EventObjectionWithdrawal); err != nil {
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
		if err := s.notify(ctx, tx, cur, st, EventCaseNotice); err != nil {
			return "", nil, err
		}
		return EventCaseNotice, caseNoticeData{Objection: objection, Court: req.Court, CaseNumber: req.CaseNumber, AcceptedOn: req.AcceptedOn}, nil
	}))
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
		if err := s.notify(ctx, tx, cur, st, typ); err != nil {
			return "", nil, err
		}
		return typ, revocationData(req), nil
	})
}

// Registration list limits (API.md, Conventions).
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
	limit, f.After = readPage(&p, req.Limit, req.Cursor, func(s string) bool { return identity.CheckNumber(s) == nil })
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
	out := RegistrationPage{Items: make([]Registration, 0, len(regs)), NextCursor: page.NextCursor}
	for _, r := range regs {
		out.Items = append(out.Items, shown(c, finish(r, f.Now)))
	}
	return out, nil
}
