package registry

import (
	"context"
	"fmt"
	"math/big"
	"reflect"
	"strconv"
	"strings"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/identifiers"
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
		AgreedWithGrantor: f.AgreedWithGrantor, PrincipalAmount: f.PrincipalAmount,
		SecurityScope: f.SecurityScope, TransferRestriction: f.TransferRestriction,
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

// Kinds of security interest the register covers (docs/rules.md).
var Kinds = []string{"chattel_mortgage", "receivables_pledge", "document_pledge", "financial_lease", "factoring", "retention_of_title", "other"}

// ItemTypes are the kinds of serial-numbered collateral items.
var ItemTypes = []string{"equipment", "vehicle", "vessel", "aircraft", "inventory", "receivable", "other"}

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
	// NameCommitment and AddressCommitment stand for an individual's Name
	// and Address in the same record; never part of a request or of what
	// is served either.
	NameCommitment    string `json:"name_commitment,omitempty"`
	AddressCommitment string `json:"address_commitment,omitempty"`
	// Address is an organization's domicile (住所), or the address on an
	// individual's identity card: required of a party newly filed or added
	// (Filing.Validate, Amendment.Validate), absent from some filed before.
	Address string `json:"address,omitempty"`
	// LegalRepresentative is a mainland organization's legal
	// representative or person in charge (法定代表人或负责人): required of
	// one in a new filing.
	LegalRepresentative string `json:"legal_representative,omitempty"`
	// FinancialInstitutionCode is an organization's financial institution
	// code (金融机构编码), when it is one.
	FinancialInstitutionCode string `json:"financial_institution_code,omitempty"`
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
	// AgreedWithGrantor is the filer's declaration that the grantor agreed
	// to the content registered (the 2021 Measures, art. 7): it must be
	// true.
	AgreedWithGrantor bool `json:"agreed_with_grantor"`
	// PrincipalAmount, SecurityScope and TransferRestriction are what the
	// parties agreed to register besides (art. 9): the principal amount of
	// the secured debt, the scope of the security, and what they agreed
	// about transfer of the collateral.
	PrincipalAmount     *Money `json:"principal_amount,omitempty"`
	SecurityScope       string `json:"security_scope,omitempty"`
	TransferRestriction string `json:"transfer_restriction,omitempty"`
}

// checkParty validates a party and puts its identifiers in stored form.
func checkParty(p *problems, field string, party *Party) {
	if party.FormerNames != nil {
		p.add(field+".former_names", CodeInvalidField, "is kept by the register from renames; do not send it")
	}
	if party.IDCommitment != "" {
		p.add(field+".id_commitment", CodeInvalidField, "is made by the register for its log; send id_number")
	}
	if party.NameCommitment != "" {
		p.add(field+".name_commitment", CodeInvalidField, "is made by the register for its log; send name")
	}
	if party.AddressCommitment != "" {
		p.add(field+".address_commitment", CodeInvalidField, "is made by the register for its log; send address")
	}
	party.Name = checkText(p, field+".name", party.Name, true, maxName)
	party.Address = checkText(p, field+".address", party.Address, false, maxText)
	party.LegalRepresentative = checkText(p, field+".legal_representative", party.LegalRepresentative, false, maxName)
	party.FinancialInstitutionCode = checkText(p, field+".financial_institution_code", party.FinancialInstitutionCode, false, maxSerial)
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
				p.brokeValue(field+".country", RuleCountry, fmt.Sprintf("%q is not an ISO 3166-1 alpha-2 country code", party.Country), party.Country)
			} else if party.Country == "CN" {
				p.broke(field+".uscc", RuleDomesticUSCC, "an organization registered in mainland China is identified by its uscc")
			}
			party.RegistrationNumber = checkText(p, field+".registration_number", party.RegistrationNumber, true, maxSerial)
		}
		if party.LEI != "" {
			party.LEI = checkID(p, field+".lei", CodeInvalidLEI, "LEI", party.LEI, identifiers.CanonicalLEI)
		}
	case "individual":
		for f, v := range map[string]string{"legal_representative": party.LegalRepresentative, "financial_institution_code": party.FinancialInstitutionCode} {
			if v != "" {
				p.add(field+"."+f, CodeInvalidField, "is only for an organization")
			}
		}
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

// What a party newly filed or added must carry besides its identifiers
// (the 2021 Measures, art. 9). Parties filed before these were required
// keep what they had: only new content is held to them, never a replay.
const (
	// needAddress requires the address.
	needAddress = 1 << iota
	// needRepresentative requires a mainland organization's legal
	// representative.
	needRepresentative
)

// checkNewParty checks a party as checkParty does, and that it carries what
// need asks of a party newly filed or added.
func checkNewParty(p *problems, field string, party *Party, need int) {
	checkParty(p, field, party)
	if need&needAddress != 0 && party.Address == "" {
		p.broke(field+".address", RuleRequired, "is required: an organization's domicile, or the address on an individual's identity card")
	}
	if need&needRepresentative != 0 && party.Type == "organization" && party.USCC != "" && party.LegalRepresentative == "" {
		p.broke(field+".legal_representative", RuleRequired, "is required of an organization registered in mainland China: its legal representative or person in charge")
	}
}

func checkParties(p *problems, field string, parties []Party, need int) {
	if len(parties) == 0 {
		p.broke(field, RuleAtLeastOne, "at least one is required")
		return
	}
	if len(parties) > maxParties {
		p.brokeMax(field, RuleAtMost, fmt.Sprintf("at most %d are allowed", maxParties), maxParties)
		return
	}
	for i := range parties {
		checkNewParty(p, fmt.Sprintf("%s[%d]", field, i), &parties[i], need)
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
		p.brokeValue(field+".currency", RuleCurrency, fmt.Sprintf("%q is not an ISO 4217 currency code", m.Currency), m.Currency)
	}
}

// Validate checks a filing and puts its identifiers in stored form.
func (f *Filing) Validate() error {
	var p problems
	checkEnum(&p, "kind", f.Kind, Kinds)
	checkParties(&p, "grantors", f.Grantors, needAddress|needRepresentative)
	checkParties(&p, "secured_parties", f.SecuredParties, needAddress|needRepresentative)
	f.Collateral.Description = checkText(&p, "collateral.description", f.Collateral.Description, true, maxDescription)
	checkItems(&p, "collateral.items", f.Collateral.Items)
	if f.PeriodMonths < 1 || f.PeriodMonths > maxPeriod {
		p.brokeMax("period_months", RulePeriod, fmt.Sprintf("must be a whole number of months from 1 to %d", maxPeriod), maxPeriod)
	}
	checkMoney(&p, "max_secured_amount", f.MaxSecuredAmount)
	f.Reference = checkText(&p, "reference", f.Reference, false, maxSerial)
	if !f.AgreedWithGrantor {
		p.broke("agreed_with_grantor", RuleAgreedWithGrantor, "must be true: the filer declares that the grantor agreed to the content registered")
	}
	checkMoney(&p, "principal_amount", f.PrincipalAmount)
	f.SecurityScope = checkText(&p, "security_scope", f.SecurityScope, false, maxText)
	f.TransferRestriction = checkText(&p, "transfer_restriction", f.TransferRestriction, false, maxText)
	return p.err()
}

func checkItems(p *problems, field string, items []ItemInput) {
	if len(items) > maxItems {
		p.brokeMax(field, RuleAtMost, fmt.Sprintf("at most %d are allowed", maxItems), maxItems)
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
