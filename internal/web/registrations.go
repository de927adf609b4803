package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/registry"
)

// revocations handles GET /admin/revocations?number=: an administrator
// names the registration a judgment, ruling or award concerns, and revokes
// it (or one of its objections) on its page.
func (s *site) revocations(w http.ResponseWriter, r *http.Request, c *call) error {
	if !c.caller.Can(auth.Revoke) {
		c.audited(auth.Revoke, "")
		return registry.Forbidden(c.caller.Principal, auth.Revoke)
	}
	number := strings.TrimSpace(r.URL.Query().Get("number"))
	form := url.Values{"number": {number}}
	if number == "" {
		s.renderForm(w, c, http.StatusOK, "revocations", nil, form, nil)
		return nil
	}
	c.audited(auth.ReadRegistration, number)
	reg, err := s.svc.Registration(c.ctx(), c.caller, number)
	if err != nil {
		return s.formFailed(w, c, "revocations", nil, form, "", err)
	}
	http.Redirect(w, r, "/registrations/"+reg.Number+"#revoke", http.StatusSeeOther)
	return nil
}

// statuses are the filters of the list of one's registrations.
var statuses = []string{registry.StatusEffective, registry.StatusExpired, registry.StatusCancelled, registry.StatusRevoked}

type listPage struct {
	Statuses []string
	Page     registry.RegistrationPage
	Next     string
}

// myRegistrations handles GET /registrations?status=&cursor=.
func (s *site) myRegistrations(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	c.audited(auth.ListRegistrations, "")
	page, err := s.svc.Registrations(c.ctx(), c.caller, registry.ListRequest{Controller: "mine", Status: q.Get("status"), Cursor: q.Get("cursor")})
	if err != nil {
		return err
	}
	form := url.Values{"status": {q.Get("status")}}
	s.renderForm(w, c, http.StatusOK, "registrations", listPage{Statuses: statuses, Page: page, Next: nextPage("/registrations", form, page.NextCursor)}, form, nil)
	return nil
}

// filingPage handles GET /registrations/new: one row of each list, the
// secured party filled in with the filer's own organization.
func (s *site) filingPage(w http.ResponseWriter, r *http.Request, c *call) error {
	if !c.caller.Can(auth.FileRegistration) {
		c.audited(auth.FileRegistration, "")
		return registry.Forbidden(c.caller.Principal, auth.FileRegistration)
	}
	secured := partyRow{Type: "organization"}
	if c.me != nil && c.me.Organization != nil {
		secured.Name, secured.USCC = c.me.Organization.Name, c.me.Organization.USCC
	}
	data := filingForm{Key: newSecret(), Kinds: registry.Kinds, ItemTypes: registry.ItemTypes,
		Grantors: []partyRow{{Type: "organization"}}, SecuredParties: []partyRow{secured}, Items: []registry.ItemInput{{Type: "equipment"}}}
	form := url.Values{"kind": {"chattel_mortgage"}, "period_months": {"36"}, "max_currency": {"CNY"}, "principal_currency": {"CNY"}}
	if id := r.URL.Query().Get("draft"); id != "" {
		// A draft resumed: the form as it was saved.
		c.audited(auth.ReadDraft, id)
		d, err := s.svc.Draft(c.ctx(), c.caller, id)
		if err != nil {
			return err
		}
		fl := d.Filing
		data.Draft = d.ID
		data.Grantors, data.SecuredParties, data.Items = filingRows(fl)
		form = draftForm(fl)
	}
	data.Saved = s.savedParties(c)
	s.renderForm(w, c, http.StatusOK, "file", data, form, nil)
	return nil
}

// savedParties are the caller's organization's saved parties (the first
// hundred), for the filing form; none when they cannot be read.
func (s *site) savedParties(c *call) []registry.SavedParty {
	page, err := s.svc.SavedParties(c.ctx(), c.caller, "", "100", "")
	if err != nil {
		return nil
	}
	return page.Items
}

// draftForm is a saved filing's single fields as the form shows them.
func draftForm(fl registry.Filing) url.Values {
	form := url.Values{"kind": {fl.Kind}, "description": {fl.Collateral.Description}, "reference": {fl.Reference}, "max_currency": {"CNY"},
		"attachments": {strings.Join(fl.Collateral.Attachments, "\n")}}
	if fl.PeriodMonths != 0 {
		form.Set("period_months", strconv.Itoa(fl.PeriodMonths))
	}
	if m := fl.MaxSecuredAmount; m != nil {
		form.Set("max_amount", m.Amount)
		form.Set("max_currency", m.Currency)
	}
	form.Set("principal_currency", "CNY")
	if m := fl.PrincipalAmount; m != nil {
		form.Set("principal_amount", m.Amount)
		form.Set("principal_currency", m.Currency)
	}
	form.Set("security_scope", fl.SecurityScope)
	form.Set("transfer_restriction", fl.TransferRestriction)
	if fl.AgreedWithGrantor {
		form.Set("agreed_with_grantor", "yes")
	}
	return form
}

// file handles POST /registrations: the registration is filed and its
// certificate shown with the modification code, once.
func (s *site) file(w http.ResponseWriter, r *http.Request, c *call) error {
	c.audited(auth.FileRegistration, "")
	fl, errs := filing(r.PostForm)
	g, sp, items := filingRows(fl)
	draft := r.PostFormValue("draft")
	data := filingForm{Key: r.PostFormValue("idempotency_key"), Kinds: registry.Kinds, ItemTypes: registry.ItemTypes, Grantors: g, SecuredParties: sp, Items: items, Draft: draft}
	form := url.Values{}
	for _, k := range []string{"kind", "period_months", "max_amount", "max_currency", "reference", "description", "attachments",
		"principal_amount", "principal_currency", "security_scope", "transfer_restriction", "agreed_with_grantor"} {
		form.Set(k, r.PostFormValue(k))
	}
	// The form shown again offers the saved parties; a filing that goes
	// through reads none.
	failed := func(err error) error {
		data.Saved = s.savedParties(c)
		return s.formFailed(w, c, "file", data, form, "", err)
	}
	if side := r.PostFormValue("add_saved"); side == "grantor" || side == "secured" {
		data.Saved = s.savedParties(c)
		// A saved party becomes a row of the form, which is shown again.
		for _, sp := range data.Saved {
			if sp.ID == r.PostFormValue("saved_"+side) {
				if side == "grantor" {
					data.Grantors = append(data.Grantors, rowOf(sp.Party))
				} else {
					data.SecuredParties = append(data.SecuredParties, rowOf(sp.Party))
				}
			}
		}
		s.renderForm(w, c, http.StatusOK, "file", data, form, nil)
		return nil
	}
	if r.PostFormValue("save_draft") == "1" {
		// Saved as it is, unchecked, to be resumed later.
		var err error
		if draft == "" {
			c.audited(auth.CreateDraft, "")
			_, err = s.svc.CreateDraft(c.ctx(), c.caller, fl)
		} else {
			c.audited(auth.UpdateDraft, draft)
			_, err = s.svc.UpdateDraft(c.ctx(), c.caller, draft, fl)
		}
		if err != nil {
			return failed(err)
		}
		http.Redirect(w, r, "/drafts?done=draft_saved", http.StatusSeeOther)
		return nil
	}
	if len(errs) > 0 {
		return failed(&registry.ValidationError{Errors: errs})
	}
	var reg registry.Registration
	var err error
	if draft == "" {
		idempotent(r, c)
		reg, err = s.svc.File(c.ctx(), c.caller, fl)
	} else {
		// The draft takes what the form holds now, then is filed (and
		// removed) as the API files a draft; the form's key is the
		// filing's, not the update's.
		c.audited(auth.UpdateDraft, draft)
		if _, err = s.svc.UpdateDraft(c.ctx(), c.caller, draft, fl); err == nil {
			idempotent(r, c)
			c.audited(auth.FileDraft, draft)
			reg, err = s.svc.FileDraft(c.ctx(), c.caller, draft)
		}
	}
	if err != nil {
		return failed(err)
	}
	s.render(w, c, http.StatusCreated, "filed", &reg)
	return nil
}

// registrationPage is a registration with what the viewer may do to it.
type registrationPage struct {
	Reg registry.Registration
	// Controls is set when the viewer's organization controls the
	// registration; another registrant changes it with the modification code.
	Controls bool
	// MayObject is set when the viewer may object to the registration: not
	// when its organization is on the secured side (registry.MayObject).
	MayObject bool
	// AsGrantor is set when the viewer's organization (or the individual
	// whose account it is) is a grantor of the registration: its objection
	// needs no interest stated.
	AsGrantor bool
	ItemTypes []string
	Reasons   []string
	// Code is a modification code just issued, shown once.
	Code string
	// AddGrantors and Assignees are the amendment form's party rows.
	AddGrantors, Assignees []partyRow
	// Saved are the viewer's organization's saved parties, to add as a
	// grantor.
	Saved []registry.SavedParty
	// Stale is set when a change was refused because the registration is
	// no longer as the page showed it (changed, cancelled, an objection
	// ended): the page offers to reload it.
	Stale bool
}

func (s *site) loadRegistration(c *call, number string) (*registrationPage, error) {
	reg, err := s.svc.Registration(c.ctx(), c.caller, number)
	if err != nil {
		return nil, err
	}
	controls, err := s.svc.Controls(c.ctx(), c.caller, reg)
	if err != nil {
		return nil, err
	}
	mayObject, err := s.svc.MayObject(c.ctx(), c.caller, reg)
	if err != nil {
		return nil, err
	}
	p := &registrationPage{Reg: reg, ItemTypes: registry.ItemTypes, Reasons: registry.CancellationReasons,
		Controls: controls, MayObject: mayObject,
		AddGrantors: []partyRow{{Type: "organization"}}, Assignees: []partyRow{{Type: "organization"}}}
	if o := c.me; mayObject && o != nil && o.Organization != nil {
		p.AsGrantor = slices.ContainsFunc(reg.Grantors, o.Organization.Is)
	}
	if c.caller.Can(auth.ListParties) {
		p.Saved = s.savedParties(c)
	}
	return p, nil
}

// registration handles GET /registrations/{number}.
func (s *site) registration(w http.ResponseWriter, r *http.Request, c *call) error {
	number := r.PathValue("number")
	c.audited(auth.ReadRegistration, number)
	p, err := s.loadRegistration(c, number)
	if err != nil {
		return err
	}
	s.render(w, c, http.StatusOK, "registration", p)
	return nil
}

// change runs one of the registration page's forms (prefix names it): the
// change, then back to the page with a notice, or the page again with the
// form's errors (and keep, if given, putting back what the form held).
// The form's version is the change's If-Match, so that a change is made to
// the registration the user saw; its modification code is the one a
// registrant other than the controller presents.
func (s *site) change(w http.ResponseWriter, r *http.Request, c *call, action auth.Action, prefix, done string, form url.Values, keep func(*registrationPage), do func(number string, pre registry.Precondition) error) error {
	number := r.PathValue("number")
	c.audited(action, number)
	pre := registry.Precondition{ModificationCode: strings.TrimSpace(r.PostFormValue("modification_code"))}
	if v := r.PostFormValue("version"); v != "" {
		pre.IfMatch = `"` + v + `"`
	}
	if err := do(number, pre); err != nil {
		p, lerr := s.loadRegistration(c, number)
		if lerr != nil {
			return err
		}
		if keep != nil {
			keep(p)
		}
		p.Stale = stale(err)
		return s.formFailed(w, c, "registration", p, form, prefix+".", err)
	}
	http.Redirect(w, r, "/registrations/"+number+"?done="+done, http.StatusSeeOther)
	return nil
}

// stale reports whether err refused a change because the registration is
// no longer as the page showed it: changed since, no longer effective, or
// its objection ended. Reloading it is the way on.
func stale(err error) bool {
	return errors.Is(err, registry.ErrVersionMismatch) || errors.Is(err, registry.ErrNotEffective) || errors.Is(err, registry.ErrObjectionNotActive)
}

// amend handles POST /registrations/{number}/amendment.
func (s *site) amend(w http.ResponseWriter, r *http.Request, c *call) error {
	f := r.PostForm
	var a registry.Amendment
	if d := strings.TrimSpace(f.Get("description")); d != "" && d != strings.TrimSpace(f.Get("description_was")) {
		a.Description = &d
	}
	a.AddItems = itemRows(f, "item")
	a.RemoveItemIDs = f["remove_item"]
	a.MaxSecuredAmount = money(f, "max_amount", "max_currency")
	if a.MaxSecuredAmount != nil && a.MaxSecuredAmount.Amount == f.Get("max_amount_was") {
		a.MaxSecuredAmount = nil
	}
	a.Note = strings.TrimSpace(f.Get("note"))
	a.AddAttachments = strings.Fields(f.Get("attachments"))
	added, assignees := partyRows(f, "addg"), partyRows(f, "assign")
	if id := f.Get("saved_addg"); f.Get("add_saved") == "addg" && id != "" {
		// A saved party becomes a grantor row; the page is shown again.
		number := r.PathValue("number")
		p, err := s.loadRegistration(c, number)
		if err != nil {
			return err
		}
		for _, sp := range p.Saved {
			if sp.ID == id {
				added = append(added, rowOf(sp.Party))
			}
		}
		p.AddGrantors = added
		if len(assignees) > 0 {
			p.Assignees = assignees
		}
		s.renderForm(w, c, http.StatusOK, "registration", p, url.Values{"form": {"amend"}, "description": {f.Get("description")},
			"max_amount": {f.Get("max_amount")}, "note": {a.Note}, "attachments": {f.Get("attachments")}}, nil)
		return nil
	}
	for _, row := range added {
		a.AddGrantors = append(a.AddGrantors, row.party())
	}
	for _, row := range assignees {
		a.SecuredParties = append(a.SecuredParties, row.party())
	}
	form := url.Values{"description": {f.Get("description")}, "max_amount": {f.Get("max_amount")}, "note": {a.Note},
		"remove_grantor": f["remove_grantor"], "rename_name": f["rename_name"], "attachments": {f.Get("attachments")}}
	keep := func(p *registrationPage) {
		if len(added) > 0 {
			p.AddGrantors = added
		}
		if len(assignees) > 0 {
			p.Assignees = assignees
		}
	}
	return s.change(w, r, c, auth.AmendRegistration, "amend", "amended", form, keep, func(number string, pre registry.Precondition) error {
		// Grantors are removed and renamed by their place on the page,
		// which the version (If-Match) ties to the registration shown.
		if len(f["remove_grantor"]) > 0 || strings.TrimSpace(strings.Join(f["rename_name"], "")) != "" {
			cur, err := s.svc.Registration(c.ctx(), c.caller, number)
			if err != nil {
				return err
			}
			grantorChanges(&a, cur.Grantors, f["remove_grantor"], f["rename_name"])
		}
		_, err := s.svc.Amend(c.ctx(), c.caller, number, pre, a)
		return err
	})
}

// grantorChanges turns the amendment form's checkboxes (grantors to remove,
// by place) and new names (one per grantor, blank for none) into the
// amendment's removals and renames. A rename keeps the grantor's
// identifiers: a renamed company keeps its USCC.
func grantorChanges(a *registry.Amendment, grantors []registry.Party, remove, rename []string) {
	for _, v := range remove {
		if i, err := strconv.Atoi(v); err == nil && i >= 0 && i < len(grantors) {
			g := grantors[i]
			g.FormerNames = nil
			a.RemoveGrantors = append(a.RemoveGrantors, g)
		}
	}
	for i, name := range rename {
		if name = strings.TrimSpace(name); name != "" && i < len(grantors) && name != grantors[i].Name {
			from := grantors[i]
			from.FormerNames = nil
			to := from
			to.Name = name
			a.RenameGrantors = append(a.RenameGrantors, registry.Rename{From: from, To: to})
		}
	}
}

// extend handles POST /registrations/{number}/extension.
func (s *site) extend(w http.ResponseWriter, r *http.Request, c *call) error {
	months := r.PostFormValue("period_months")
	return s.change(w, r, c, auth.ExtendRegistration, "extend", "extended", url.Values{"period_months": {months}}, nil, func(number string, pre registry.Precondition) error {
		n, err := strconv.Atoi(strings.TrimSpace(months))
		if err != nil {
			return registry.BrokeMax("period_months", registry.RulePeriod, "must be a whole number of months from 1 to 360", 360)
		}
		_, err = s.svc.Extend(c.ctx(), c.caller, number, pre, registry.Extension{PeriodMonths: n})
		return err
	})
}

// cancel handles POST /registrations/{number}/cancellation, once confirmed.
func (s *site) cancel(w http.ResponseWriter, r *http.Request, c *call) error {
	if ok, err := s.confirmed(w, r, c, "cancel", auth.CancelRegistration); !ok {
		return err
	}
	req := registry.Cancellation{Reason: r.PostFormValue("reason"), Note: strings.TrimSpace(r.PostFormValue("note"))}
	return s.change(w, r, c, auth.CancelRegistration, "cancel", "cancelled", url.Values{"reason": {req.Reason}, "note": {req.Note}}, nil, func(number string, pre registry.Precondition) error {
		_, err := s.svc.Cancel(c.ctx(), c.caller, number, pre, req)
		return err
	})
}

// rotateCode handles POST /registrations/{number}/modification-code: the new
// code is shown once, on the registration's page (once confirmed: the old
// code stops working).
func (s *site) rotateCode(w http.ResponseWriter, r *http.Request, c *call) error {
	if ok, err := s.confirmed(w, r, c, "rotate", auth.RotateModificationCode); !ok {
		return err
	}
	number := r.PathValue("number")
	c.audited(auth.RotateModificationCode, number)
	code, err := s.svc.RotateModificationCode(c.ctx(), c.caller, number)
	if err != nil {
		return err
	}
	p, err := s.loadRegistration(c, number)
	if err != nil {
		return err
	}
	p.Code = code.ModificationCode
	s.render(w, c, http.StatusCreated, "registration", p)
	return nil
}

// revoke handles POST /registrations/{number}/revocation (administrators),
// once confirmed.
func (s *site) revoke(w http.ResponseWriter, r *http.Request, c *call) error {
	if ok, err := s.confirmed(w, r, c, "revoke", auth.Revoke); !ok {
		return err
	}
	req := registry.Revocation{Objection: r.PostFormValue("objection"), Authority: strings.TrimSpace(r.PostFormValue("authority")),
		DocumentNumber: strings.TrimSpace(r.PostFormValue("document_number")), Note: strings.TrimSpace(r.PostFormValue("note"))}
	form := url.Values{"objection": {req.Objection}, "authority": {req.Authority}, "document_number": {req.DocumentNumber}, "note": {req.Note}}
	return s.change(w, r, c, auth.Revoke, "revoke", "revoked", form, nil, func(number string, _ registry.Precondition) error {
		_, err := s.svc.Revoke(c.ctx(), c.caller, number, req)
		return err
	})
}
