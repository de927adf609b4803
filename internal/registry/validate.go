package registry

import (
	"errors"
	"fmt"
	"math/big"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/identity"
)

// Limits on the size of a filing's parts.
const (
	maxParties     = 100
	maxItems       = 1000
	maxName        = 200
	maxText        = 500
	maxDescription = 20000
	maxSerial      = 100
	maxPeriod      = 360
	maxStatement   = 5000
)

var amountPattern = regexp.MustCompile(`^(0|[1-9][0-9]{0,17})(\.[0-9]{1,2})?$`)

func checkText(p *problems, field, value string, required bool, max int) string {
	value = strings.TrimSpace(value)
	switch {
	case !utf8.ValidString(value):
		p.broke(field, RuleNotUTF8, "is not valid UTF-8")
	case required && value == "":
		p.broke(field, RuleRequired, "is required")
	case utf8.RuneCountInString(value) > max:
		p.broke(field, RuleTooLong, fmt.Sprintf("is longer than %d characters", max), "max", max)
	case strings.ContainsFunc(value, func(r rune) bool { return (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r <= 0x9f) }):
		p.broke(field, RuleControl, "contains control characters")
	case strings.ContainsFunc(value, isBidiControl):
		p.broke(field, RuleBidi, "contains bidirectional controls (U+202A to U+202E, U+2066 to U+2069), which make text display as other text")
	case strings.ContainsRune(value, utf8.RuneError):
		p.broke(field, RuleNotUTF8, "is not valid UTF-8 (it holds U+FFFD, the mark of a character that was lost)")
	}
	return value
}

// hiddenRune is a character that no identifier holds honestly: a control,
// a bidirectional control, or the mark of a lost character.
func hiddenRune(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f) || isBidiControl(r) || r == utf8.RuneError
}

// isBidiControl reports whether r changes the direction text is shown in:
// the embeddings and overrides, and the isolates. "Evil\u202Eoc dtL" shows
// as another name than the one stored. The direction marks (U+200E, U+200F)
// stay allowed: right-to-left names use them, and they reorder nothing
// beyond the text they stand in.
func isBidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

func checkEnum(p *problems, field, value string, allowed []string) {
	if value == "" {
		p.broke(field, RuleRequired, "is required; one of "+strings.Join(allowed, ", "))
	} else if !slices.Contains(allowed, value) {
		p.broke(field, RuleNotOneOf, fmt.Sprintf("%q is not one of %s", value, strings.Join(allowed, ", ")), "value", value)
	}
}

// checkID puts an identifier in stored form with check, or records why it is
// wrong under its field and the identifier's own code.
func checkID(p *problems, field, code, what, value string, check func(string) (string, error)) string {
	v, err := check(value)
	if err == nil {
		return v
	}
	msg := err.Error()
	if errors.Is(err, identity.ErrCheck) {
		msg = "the " + what + "'s " + msg
	}
	p.add(field, code, msg)
	return value
}

// checkParty validates a party and puts its identifiers in stored form.
func checkParty(p *problems, field string, party *Party) {
	if party.FormerNames != nil {
		p.add(field+".former_names", CodeInvalidField, "is kept by the register from renames; do not send it")
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
				party.USCC = checkID(p, field+".uscc", CodeInvalidUSCC, "USCC", party.USCC, identity.CanonicalUSCC)
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
			party.LEI = checkID(p, field+".lei", CodeInvalidLEI, "LEI", party.LEI, identity.CanonicalLEI)
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
			party.IDNumber = checkID(p, field+".id_number", CodeInvalidIDNumber, "identity number", party.IDNumber, identity.CanonicalIDNumber)
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
		key := identity.SerialKey(it.SerialNumber)
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
		len(a.RemoveGrantors) == 0 && len(a.RenameGrantors) == 0 && a.SecuredParties == nil && a.MaxSecuredAmount == nil {
		p.broke("amendment", RuleChangesNothing, "changes nothing: give at least one of add_items, remove_item_ids, description, add_grantors, remove_grantors, rename_grantors, secured_parties, max_secured_amount")
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

// Validate checks a revocation.
func (r *Revocation) Validate() error {
	var p problems
	r.Authority = checkText(&p, "authority", r.Authority, true, maxName)
	r.DocumentNumber = checkText(&p, "document_number", r.DocumentNumber, true, maxSerial)
	r.Note = checkText(&p, "note", r.Note, false, maxText)
	if r.Objection != "" {
		if err := identity.CheckNumber(r.Objection); err != nil {
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

// Validate checks an organization to be created.
func (o *Organization) Validate() error {
	var p problems
	o.Name = checkText(&p, "name", o.Name, true, maxName)
	o.USCC = checkID(&p, "uscc", CodeInvalidUSCC, "USCC", o.USCC, identity.CanonicalUSCC)
	checkEnum(&p, "kind", o.Kind, OrganizationKinds)
	return p.err()
}

// Validate checks a user to be created.
func (u *NewUser) Validate(validRole func(string) bool) error {
	var p problems
	if u.OrganizationID == "" {
		p.broke("organization_id", RuleRequired, "is required")
	}
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	if a, err := mail.ParseAddress(u.Email); err != nil || a.Address != u.Email || len(u.Email) > maxName || strings.ContainsFunc(u.Email, hiddenRune) {
		p.broke("email", RuleEmail, "is not an email address")
	}
	u.DisplayName = checkText(&p, "display_name", u.DisplayName, true, maxName)
	if len(u.Roles) == 0 {
		p.broke("roles", RuleAtLeastOne, "at least one role is required")
	}
	staff, other := false, false
	for i, r := range u.Roles {
		if !validRole(r) {
			p.add(fmt.Sprintf("roles[%d]", i), CodeInvalidField, fmt.Sprintf("%q is not a role", r))
		}
		if auth.Role(r).Staff() {
			staff = true
		} else {
			other = true
		}
	}
	if staff && other {
		p.add("roles", CodeInvalidField, "the registry's staff roles (admin, auditor) are not held together with an organization's roles")
	}
	checkPassword(&p, "password", u.Password, false)
	return p.err()
}

// checkPassword checks a new password; an empty one is refused only where
// it is required.
func checkPassword(p *problems, field, pw string, required bool) {
	switch {
	case pw == "" && !required:
	case utf8.RuneCountInString(pw) < 12:
		p.broke(field, RulePasswordShort, "must have at least 12 characters", "min", 12)
	case len(pw) > 1024:
		p.add(field, CodeInvalidField, "must have at most 1024 bytes")
	case !utf8.ValidString(pw):
		p.broke(field, RuleNotUTF8, "must be valid UTF-8")
	}
}

// query validates the search criteria (exactly one, put in stored form) and
// derives the keys the store searches by, once.
func (c *Criteria) query() (q Query, mixedScripts bool, err error) {
	var p problems
	set := 0
	for _, v := range []string{c.GrantorName, c.USCC, c.LEI, c.IDNumber, c.RegistrationNumber, c.SerialNumber} {
		if strings.TrimSpace(v) != "" {
			set++
		}
	}
	if set != 1 {
		p.broke("criteria", RuleOneCriterion, "give exactly one of grantor_name, uscc, lei, id_number, registration_number, serial_number")
		return q, false, p.err()
	}
	switch {
	case c.GrantorName != "":
		c.GrantorName = checkText(&p, "criteria.grantor_name", c.GrantorName, true, maxName)
		k := identity.Normalize(c.GrantorName)
		if k.Key == "" {
			p.broke("criteria.grantor_name", RuleLettersOrDigits, "must contain letters or digits")
		}
		q.NameKey, mixedScripts = k.Key, k.MixedScripts
	case c.USCC != "":
		c.USCC = checkID(&p, "criteria.uscc", CodeInvalidUSCC, "USCC", c.USCC, identity.CanonicalUSCC)
	case c.LEI != "":
		c.LEI = checkID(&p, "criteria.lei", CodeInvalidLEI, "LEI", c.LEI, identity.CanonicalLEI)
	case c.IDNumber != "":
		c.IDNumber = checkID(&p, "criteria.id_number", CodeInvalidIDNumber, "identity number", c.IDNumber, identity.CanonicalIDNumber)
	case c.RegistrationNumber != "":
		c.RegistrationNumber = strings.TrimSpace(c.RegistrationNumber)
		if err := identity.CheckNumber(c.RegistrationNumber); err != nil {
			p.add("criteria.registration_number", CodeInvalidNumber, err.Error())
		}
	case c.SerialNumber != "":
		c.SerialNumber = checkText(&p, "criteria.serial_number", c.SerialNumber, true, maxSerial)
		q.SerialKey = identity.SerialKey(c.SerialNumber)
		if q.SerialKey == "" {
			p.broke("criteria.serial_number", RuleLettersOrDigits, "must contain letters or digits")
		}
	}
	q.Criteria = *c
	return q, mixedScripts, p.err()
}
