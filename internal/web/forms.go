package web

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/movable-registry/registry/internal/registry"
)

// parseLocal reads a time as a datetime-local field sends it, in China
// Standard Time.
func parseLocal(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(s), registry.Shanghai); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// Party rows of a form: prefix_type (organization, individual or foreign),
// prefix_name, the identifiers of each type, the address, and an
// organization's legal representative and financial institution code, one
// value per row.
var partyFields = []string{"type", "name", "uscc", "id_number", "country", "registration_number", "lei",
	"address", "legal_representative", "financial_institution_code"}

// partyRow is one party as a form row shows it.
type partyRow struct {
	Type, Name, USCC, IDNumber, Country, RegistrationNumber, LEI string
	Address, LegalRepresentative, FinancialInstitutionCode       string
}

func rowOf(p registry.Party) partyRow {
	t := p.Type
	if t == "organization" && p.USCC == "" && (p.Country != "" || p.RegistrationNumber != "" || p.LEI != "") {
		t = "foreign"
	}
	return partyRow{Type: t, Name: p.Name, USCC: p.USCC, IDNumber: p.IDNumber, Country: p.Country, RegistrationNumber: p.RegistrationNumber, LEI: p.LEI,
		Address: p.Address, LegalRepresentative: p.LegalRepresentative, FinancialInstitutionCode: p.FinancialInstitutionCode}
}

func (p partyRow) party() registry.Party {
	out := registry.Party{Type: p.Type, Name: strings.TrimSpace(p.Name), Address: strings.TrimSpace(p.Address)}
	switch p.Type {
	case "individual":
		out.IDNumber = strings.TrimSpace(p.IDNumber)
		return out
	case "foreign":
		out.Type = "organization"
		out.Country, out.RegistrationNumber, out.LEI = strings.TrimSpace(p.Country), strings.TrimSpace(p.RegistrationNumber), strings.TrimSpace(p.LEI)
	default:
		out.USCC = strings.TrimSpace(p.USCC)
	}
	out.LegalRepresentative, out.FinancialInstitutionCode = strings.TrimSpace(p.LegalRepresentative), strings.TrimSpace(p.FinancialInstitutionCode)
	return out
}

func (p partyRow) empty() bool {
	return strings.TrimSpace(p.Name+p.USCC+p.IDNumber+p.Country+p.RegistrationNumber+p.LEI+p.Address+p.LegalRepresentative+p.FinancialInstitutionCode) == ""
}

// partyRows reads the non-empty party rows under prefix.
func partyRows(f url.Values, prefix string) []partyRow {
	n := 0
	for _, k := range partyFields {
		n = max(n, len(f[prefix+"_"+k]))
	}
	at := func(k string, i int) string {
		if vs := f[prefix+"_"+k]; i < len(vs) {
			return vs[i]
		}
		return ""
	}
	var out []partyRow
	for i := range n {
		row := partyRow{Type: at("type", i), Name: at("name", i), USCC: at("uscc", i), IDNumber: at("id_number", i),
			Country: at("country", i), RegistrationNumber: at("registration_number", i), LEI: at("lei", i),
			Address: at("address", i), LegalRepresentative: at("legal_representative", i), FinancialInstitutionCode: at("financial_institution_code", i)}
		if !row.empty() {
			out = append(out, row)
		}
	}
	return out
}

// itemRows reads the non-empty collateral item rows under prefix.
func itemRows(f url.Values, prefix string) []registry.ItemInput {
	var out []registry.ItemInput
	types, serials, descs := f[prefix+"_type"], f[prefix+"_serial_number"], f[prefix+"_description"]
	for i := range max(len(types), len(serials), len(descs)) {
		var it registry.ItemInput
		if i < len(types) {
			it.Type = types[i]
		}
		if i < len(serials) {
			it.SerialNumber = strings.TrimSpace(serials[i])
		}
		if i < len(descs) {
			it.Description = strings.TrimSpace(descs[i])
		}
		if it.SerialNumber != "" || it.Description != "" {
			out = append(out, it)
		}
	}
	return out
}

// filingForm is the filing page's rows and choices.
type filingForm struct {
	Key            string
	Kinds          []string
	ItemTypes      []string
	Grantors       []partyRow
	SecuredParties []partyRow
	Items          []registry.ItemInput
	Filed          *registry.Registration
	// Draft is the draft the form was resumed from, if any.
	Draft string
	// Saved are the organization's saved parties, to add as a row.
	Saved []registry.SavedParty
}

// filing reads the filing form. Numbers that are not numbers are field
// errors of their own; everything else is for the service to judge.
func filing(f url.Values) (registry.Filing, []registry.FieldError) {
	var errs []registry.FieldError
	out := registry.Filing{
		Kind: f.Get("kind"),
		Collateral: registry.CollateralInput{Description: strings.TrimSpace(f.Get("description")), Items: itemRows(f, "item"),
			Attachments: strings.Fields(f.Get("attachments"))},
		Reference: strings.TrimSpace(f.Get("reference")),
		// The declaration is a checkbox: checked, it sends yes.
		AgreedWithGrantor:   f.Get("agreed_with_grantor") == "yes",
		SecurityScope:       strings.TrimSpace(f.Get("security_scope")),
		TransferRestriction: strings.TrimSpace(f.Get("transfer_restriction")),
	}
	for _, r := range partyRows(f, "grantor") {
		out.Grantors = append(out.Grantors, r.party())
	}
	for _, r := range partyRows(f, "secured") {
		out.SecuredParties = append(out.SecuredParties, r.party())
	}
	if p := strings.TrimSpace(f.Get("period_months")); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			errs = append(errs, registry.BrokenMax("period_months", registry.RulePeriod, "must be a whole number of months from 1 to 360", 360))
		}
		out.PeriodMonths = n
	}
	if m := money(f, "max_amount", "max_currency"); m != nil {
		out.MaxSecuredAmount = m
	}
	out.PrincipalAmount = money(f, "principal_amount", "principal_currency")
	return out, errs
}

// money reads an amount and its currency; no amount is no money.
func money(f url.Values, amount, currency string) *registry.Money {
	a := strings.TrimSpace(strings.ReplaceAll(f.Get(amount), ",", ""))
	if a == "" {
		return nil
	}
	c := strings.ToUpper(strings.TrimSpace(f.Get(currency)))
	if c == "" {
		c = "CNY"
	}
	return &registry.Money{Amount: a, Currency: c}
}

// filingRows returns the rows the filing form shows again: those of the
// filing (so that field errors' indexes match), with one blank row where a
// list is empty.
func filingRows(fl registry.Filing) (grantors, secured []partyRow, items []registry.ItemInput) {
	for _, p := range fl.Grantors {
		grantors = append(grantors, rowOf(p))
	}
	for _, p := range fl.SecuredParties {
		secured = append(secured, rowOf(p))
	}
	items = fl.Collateral.Items
	if len(grantors) == 0 {
		grantors = []partyRow{{Type: "organization"}}
	}
	if len(secured) == 0 {
		secured = []partyRow{{Type: "organization"}}
	}
	if len(items) == 0 {
		items = []registry.ItemInput{{Type: "equipment"}}
	}
	return grantors, secured, items
}
