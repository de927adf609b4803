package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/identifiers"
)

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
		p.brokeMax("add_items", RuleAtMost, fmt.Sprintf("a registration may have at most %d items", maxItems), maxItems)
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
	for i := range a.RenameGrantors {
		rn := &a.RenameGrantors[i]
		j := findParty(grantors, rn.From)
		if j < 0 {
			p.broke(fmt.Sprintf("rename_grantors[%d].from", i), RuleNotGrantor, "is not a grantor of this registration")
			continue
		}
		// The details a rename leaves out are the grantor's own: the event
		// records them, so that a replay needs nothing but the event.
		keep := func(to *string, was string) {
			if *to == "" {
				*to = was
			}
		}
		keep(&rn.To.Address, grantors[j].Address)
		if rn.To.Type == "organization" {
			keep(&rn.To.LegalRepresentative, grantors[j].LegalRepresentative)
			keep(&rn.To.FinancialInstitutionCode, grantors[j].FinancialInstitutionCode)
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
		p.brokeMax("add_grantors", RuleAtMost, fmt.Sprintf("a registration may have at most %d grantors", maxParties), maxParties)
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
	// A grantor added, and the secured parties of an assignment, are new
	// parties and carry an address; a grantor removed or renamed is found
	// by its identifiers and name.
	for _, list := range []struct {
		field   string
		parties []Party
		need    int
	}{{"add_grantors", a.AddGrantors, needAddress}, {"remove_grantors", a.RemoveGrantors, 0}} {
		if len(list.parties) > maxParties {
			p.brokeMax(list.field, RuleAtMost, fmt.Sprintf("at most %d are allowed", maxParties), maxParties)
			continue
		}
		for i := range list.parties {
			checkNewParty(&p, fmt.Sprintf("%s[%d]", list.field, i), &list.parties[i], list.need)
		}
	}
	if len(a.RenameGrantors) > maxParties {
		p.brokeMax("rename_grantors", RuleAtMost, fmt.Sprintf("at most %d are allowed", maxParties), maxParties)
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
		checkParties(&p, "secured_parties", a.SecuredParties, needAddress)
	}
	checkMoney(&p, "max_secured_amount", a.MaxSecuredAmount)
	a.Note = checkText(&p, "note", a.Note, false, maxText)
	return p.err()
}
