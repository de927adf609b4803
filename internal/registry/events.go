package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/movable-registry/registry/internal/names"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// eventBody is the canonical record of an event: the bytes the log commits to.
type eventBody struct {
	LogIndex           int64   `json:"log_index"`
	Number             string  `json:"number"`
	Type               string  `json:"type"`
	RegistrationNumber string  `json:"registration_number"`
	RegisteredAt       Time    `json:"registered_at"`
	By                 eventBy `json:"by"`
	Data               any     `json:"data"`
}

type eventBy struct {
	OrganizationID string `json:"organization_id"`
	UserID         string `json:"user_id,omitempty"`
}

// event is a decoded registry event; Data holds one of the *Data types below.
type event struct {
	LogIndex           int64
	Number             string
	Type               string
	RegistrationNumber string
	At                 Time
	By                 eventBy
	Data               any
	// ErasedAt is when its individuals' personal data was erased.
	ErasedAt *Time
}

// initialData is what an initial registration records.
type initialData struct {
	Kind             string     `json:"kind"`
	Controller       Controller `json:"controller"`
	Grantors         []Party    `json:"grantors"`
	SecuredParties   []Party    `json:"secured_parties"`
	Collateral       Collateral `json:"collateral"`
	PeriodMonths     int        `json:"period_months"`
	ExpiresAt        Time       `json:"expires_at"`
	MaxSecuredAmount *Money     `json:"max_secured_amount,omitempty"`
	Reference        string     `json:"reference,omitempty"`
	// The 2021 Measures' content (arts. 7, 9); absent from the records of
	// registrations filed before it was asked for.
	AgreedWithGrantor   bool   `json:"agreed_with_grantor,omitempty"`
	PrincipalAmount     *Money `json:"principal_amount,omitempty"`
	SecurityScope       string `json:"security_scope,omitempty"`
	TransferRestriction string `json:"transfer_restriction,omitempty"`
}

// amendmentData is what an amendment records: the change, with the ids of
// the items it adds and, for an assignment, the new controller resolved.
type amendmentData struct {
	Description      *string     `json:"description,omitempty"`
	AddItems         []Item      `json:"add_items,omitempty"`
	RemoveItemIDs    []string    `json:"remove_item_ids,omitempty"`
	AddGrantors      []Party     `json:"add_grantors,omitempty"`
	RemoveGrantors   []Party     `json:"remove_grantors,omitempty"`
	RenameGrantors   []Rename    `json:"rename_grantors,omitempty"`
	SecuredParties   []Party     `json:"secured_parties,omitempty"`
	Controller       *Controller `json:"controller,omitempty"`
	MaxSecuredAmount *Money      `json:"max_secured_amount,omitempty"`
	Note             string      `json:"note,omitempty"`
	// AddAttachments are the files it names, with their SHA-256.
	AddAttachments []Attachment `json:"add_attachments,omitempty"`
	// Succession is set on an assignment by succession: which one, and
	// what it rests on.
	Succession *successionRecord `json:"succession,omitempty"`
}

// extensionData is what an extension records.
type extensionData struct {
	PeriodMonths int  `json:"period_months"`
	ExpiresAt    Time `json:"expires_at"`
}

// cancellationData is what a cancellation records.
type cancellationData struct {
	Reason string `json:"reason"`
	Note   string `json:"note,omitempty"`
}

// objectionData is what an objection records.
type objectionData struct {
	Statement string `json:"statement"`
	Interest  string `json:"interest,omitempty"`
	LapsesAt  Time   `json:"lapses_at"`
}

// withdrawalData is what an objection's withdrawal records.
type withdrawalData struct {
	Objection string `json:"objection"`
}

// caseNoticeData is what a case-acceptance notice records.
type caseNoticeData struct {
	Objection  string `json:"objection"`
	Court      string `json:"court"`
	CaseNumber string `json:"case_number"`
	AcceptedOn string `json:"accepted_on"`
}

// revocationData is what a revocation records; Objection is set when only
// that objection is revoked.
type revocationData struct {
	Objection      string `json:"objection,omitempty"`
	Authority      string `json:"authority"`
	DocumentNumber string `json:"document_number"`
	Note           string `json:"note,omitempty"`
}

// expiryData is what a recorded expiry records: the instant it took effect.
type expiryData struct {
	ExpiredAt Time `json:"expired_at"`
}

// lapseData is what a recorded lapse of an objection records.
type lapseData struct {
	Objection string `json:"objection"`
	LapsedAt  Time   `json:"lapsed_at"`
}

func newEvent(c Caller, st Stamp, typ, regNumber string, data any) EventRecord {
	body := eventBody{
		LogIndex: st.LogIndex, Number: st.Number, Type: typ, RegistrationNumber: regNumber,
		RegisteredAt: At(st.At), By: eventBy{OrganizationID: c.OrganizationID, UserID: c.UserID}, Data: data,
	}
	e := EventRecord{
		LogIndex: st.LogIndex, Number: st.Number, Type: typ, RegistrationNumber: regNumber, At: st.At,
		OrganizationID: c.OrganizationID, UserID: c.UserID, Record: canonical(body),
	}
	if leaf, openings, ok := committed(body); ok {
		e.LogRecord, e.Openings = canonical(leaf), openings
	}
	return e
}

// decodeEvent reads a stored event record back into its typed form. The
// record's type comes before its data (eventBody's field order), so it is
// read first and the record decoded once, straight into its data's type.
func decodeEvent(rec EventRecord) (event, error) {
	if rec.decoded != nil {
		return *rec.decoded, nil
	}
	var e event
	var err error
	switch recordType(rec.Record) {
	case EventInitial:
		e, err = decodeAs[initialData](rec.Record)
	case EventAmendment:
		e, err = decodeAs[amendmentData](rec.Record)
	case EventExtension:
		e, err = decodeAs[extensionData](rec.Record)
	case EventCancellation:
		e, err = decodeAs[cancellationData](rec.Record)
	case EventObjection:
		e, err = decodeAs[objectionData](rec.Record)
	case EventObjectionWithdrawal:
		e, err = decodeAs[withdrawalData](rec.Record)
	case EventCaseNotice:
		e, err = decodeAs[caseNoticeData](rec.Record)
	case EventRevocation, EventObjectionRevocation:
		e, err = decodeAs[revocationData](rec.Record)
	case EventExpiry:
		e, err = decodeAs[expiryData](rec.Record)
	case EventObjectionLapse:
		e, err = decodeAs[lapseData](rec.Record)
	default:
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(rec.Record, &head); err != nil {
			return event{}, fmt.Errorf("event %s: %w", rec.Number, err)
		}
		return event{}, fmt.Errorf("event %s: unknown type %q", rec.Number, head.Type)
	}
	if err != nil {
		return event{}, fmt.Errorf("event %s: %w", rec.Number, err)
	}
	if rec.ErasedAt != nil {
		t := At(*rec.ErasedAt)
		e.ErasedAt = &t
	}
	return e, nil
}

// recordType reads the type of a canonical event record: the first "type"
// member, which is the envelope's (log_index and number come before it).
func recordType(record []byte) string {
	const key = `"type":"`
	i := bytes.Index(record, []byte(key))
	if i < 0 {
		return ""
	}
	rest := record[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// decodeAs decodes a record with go-json-experiment's decoder in
// encoding/json's mode: the same result, in well under half the time, which
// every read of a registration (a replay of its events) and a verifier's
// replay of millions spend mostly here.
func decodeAs[T any](record []byte) (event, error) {
	var v struct {
		eventBody
		Data T `json:"data"`
	}
	if err := jsonv2.Unmarshal(record, &v, jsonv1.DefaultOptionsV1()); err != nil {
		return event{}, err
	}
	return event{LogIndex: v.LogIndex, Number: v.Number, Type: v.Type, RegistrationNumber: v.RegistrationNumber, At: v.RegisteredAt, By: v.By, Data: v.Data}, nil
}

// replay derives registrations from their events, which come in log order.
// The result is in registration order and not yet finished at an instant.
func replay(records []EventRecord) ([]Registration, error) {
	var out []*Registration
	byNumber := make(map[string]*Registration, len(records))
	for _, rec := range records {
		e, err := decodeEvent(rec)
		if err != nil {
			return nil, err
		}
		r := byNumber[rec.RegistrationNumber]
		if r == nil {
			if e.Type != EventInitial {
				return nil, fmt.Errorf("event %s: registration %s has no initial event before it", e.Number, rec.RegistrationNumber)
			}
			r = &Registration{}
			byNumber[rec.RegistrationNumber] = r
			out = append(out, r)
		}
		if err := apply(r, e); err != nil {
			return nil, err
		}
	}
	regs := make([]Registration, len(out))
	for i, r := range out {
		regs[i] = *r
	}
	slices.SortStableFunc(regs, func(a, b Registration) int { return a.RegisteredAt.Compare(b.RegisteredAt.Time) })
	return regs, nil
}

// clone copies a registration deeply enough for apply to change the copy.
func clone(r Registration) Registration {
	r.Grantors = slices.Clone(r.Grantors)
	for i := range r.Grantors {
		r.Grantors[i].FormerNames = slices.Clone(r.Grantors[i].FormerNames)
	}
	r.SecuredParties = slices.Clone(r.SecuredParties)
	r.Collateral.Items = slices.Clone(r.Collateral.Items)
	r.Objections = slices.Clone(r.Objections)
	r.History = slices.Clone(r.History)
	return r
}

// apply changes r by one event. It is the only place where an event's effect
// is defined: writes use it to produce the new state, reads to replay.
func apply(r *Registration, e event) error {
	h := HistoryEntry{Number: e.Number, Type: e.Type, RegisteredAt: e.At, By: Actor{OrganizationID: e.By.OrganizationID}, LogIndex: e.LogIndex}
	switch d := e.Data.(type) {
	case initialData:
		// The registration's own lists: an event decoded once may be
		// replayed again (OpenRecord keeps it), and amendments change these
		// in place.
		c := d.Collateral
		c.Items, c.Attachments = slices.Clone(c.Items), slices.Clone(c.Attachments)
		*r = Registration{
			Number: e.Number, Kind: d.Kind, RegisteredAt: e.At, ExpiresAt: d.ExpiresAt, Controller: d.Controller,
			Grantors: slices.Clone(d.Grantors), SecuredParties: d.SecuredParties, Collateral: c,
			PeriodMonths: d.PeriodMonths, MaxSecuredAmount: d.MaxSecuredAmount, Reference: d.Reference,
			AgreedWithGrantor: d.AgreedWithGrantor, PrincipalAmount: d.PrincipalAmount,
			SecurityScope: d.SecurityScope, TransferRestriction: d.TransferRestriction,
		}
	case amendmentData:
		if err := applyAmendment(r, &d); err != nil {
			return fmt.Errorf("event %s: %w", e.Number, err)
		}
		if sr := d.Succession; sr != nil {
			h.Succession = &HistorySuccession{Basis: sr.Basis, DocumentNumber: sr.DocumentNumber, PredecessorUSCC: sr.PredecessorUSCC}
		}
	case extensionData:
		r.PeriodMonths += d.PeriodMonths
		r.ExpiresAt = d.ExpiresAt
	case cancellationData:
		r.ended, r.EndedAt = StatusCancelled, &e.At
	case objectionData:
		r.Objections = append(r.Objections, Objection{Number: e.Number, FiledAt: e.At, By: h.By,
			Statement: d.Statement, Interest: d.Interest, lapsesAt: d.LapsesAt.Time})
	case withdrawalData:
		o := r.objection(d.Objection)
		if o == nil {
			return fmt.Errorf("event %s: no objection %s", e.Number, d.Objection)
		}
		h.Objection, o.ended, o.endedAt = d.Objection, ObjectionWithdrawn, e.At.Time
	case caseNoticeData:
		o := r.objection(d.Objection)
		if o == nil {
			return fmt.Errorf("event %s: no objection %s", e.Number, d.Objection)
		}
		h.Objection = d.Objection
		o.CaseNotice = &CaseNotice{Court: d.Court, CaseNumber: d.CaseNumber, AcceptedOn: d.AcceptedOn, SubmittedAt: e.At}
	case revocationData:
		if d.Objection == "" {
			r.ended, r.EndedAt = StatusRevoked, &e.At
			break
		}
		o := r.objection(d.Objection)
		if o == nil {
			return fmt.Errorf("event %s: no objection %s", e.Number, d.Objection)
		}
		h.Objection, o.ended, o.endedAt = d.Objection, ObjectionRevoked, e.At.Time
	case expiryData:
		// Expiry follows from the clock; the event only records it.
	case lapseData:
		if r.objection(d.Objection) == nil {
			return fmt.Errorf("event %s: no objection %s", e.Number, d.Objection)
		}
		h.Objection = d.Objection
	default:
		return fmt.Errorf("event %s: no rule for %T", e.Number, e.Data)
	}
	if e.ErasedAt != nil {
		r.ErasedAt = e.ErasedAt
	}
	r.History = append(r.History, h)
	return nil
}

func applyAmendment(r *Registration, d *amendmentData) error {
	if len(d.RemoveItemIDs) > 0 {
		r.Collateral.Items = slices.DeleteFunc(r.Collateral.Items, func(it Item) bool { return slices.Contains(d.RemoveItemIDs, it.ID) })
	}
	r.Collateral.Items = append(r.Collateral.Items, d.AddItems...)
	r.Collateral.Attachments = append(r.Collateral.Attachments, d.AddAttachments...)
	if d.Description != nil {
		r.Collateral.Description = *d.Description
	}
	for _, p := range d.RemoveGrantors {
		i := findParty(r.Grantors, p)
		if i < 0 {
			return fmt.Errorf("%s is not a grantor", p.Name)
		}
		r.Grantors = slices.Delete(r.Grantors, i, i+1)
	}
	for _, rn := range d.RenameGrantors {
		i := findParty(r.Grantors, rn.From)
		if i < 0 {
			return fmt.Errorf("%s is not a grantor", rn.From.Name)
		}
		old := r.Grantors[i]
		to := rn.To
		to.FormerNames = old.FormerNames
		if nameKey(old) != nameKey(to) {
			to.FormerNames = append(slices.Clone(old.FormerNames), old.Name)
		}
		r.Grantors[i] = to
	}
	r.Grantors = append(r.Grantors, d.AddGrantors...)
	if d.SecuredParties != nil {
		r.SecuredParties = d.SecuredParties
	}
	if d.Controller != nil {
		r.Controller = *d.Controller
	}
	if d.MaxSecuredAmount != nil {
		r.MaxSecuredAmount = d.MaxSecuredAmount
	}
	return nil
}

func (r *Registration) objection(number string) *Objection {
	for i := range r.Objections {
		if r.Objections[i].Number == number {
			return &r.Objections[i]
		}
	}
	return nil
}

func nameKey(p Party) string { return names.Normalize(p.Name).Key }

// sameParty reports whether two parties are the same person or organization:
// the same kind, identifiers and name (by its search key).
func sameParty(a, b Party) bool {
	return a.Type == b.Type && a.USCC == b.USCC && a.Country == b.Country && a.RegistrationNumber == b.RegistrationNumber &&
		a.IDNumber == b.IDNumber && nameKey(a) == nameKey(b)
}

func findParty(parties []Party, p Party) int {
	return slices.IndexFunc(parties, func(q Party) bool { return sameParty(q, p) })
}

// finish derives what follows from the events and the clock at instant at:
// statuses of the registration and its objections, the version and the log
// position shown. r holds only events at or before at.
func finish(r Registration, at time.Time) Registration {
	switch {
	case r.ended != "":
		r.Status = r.ended
	case !r.ExpiresAt.After(at):
		r.Status = StatusExpired
	default:
		r.Status = StatusEffective
	}
	r.Objections = slices.Clone(r.Objections)
	for i := range r.Objections {
		o := &r.Objections[i]
		lapses := Time{o.lapsesAt}
		o.LapsesAt, o.EndedAt = nil, nil
		switch {
		case o.ended != "":
			ended := Time{o.endedAt}
			o.Status, o.EndedAt = o.ended, &ended
		case o.CaseNotice != nil:
			o.Status = ObjectionLitigating
		case !lapses.After(at):
			o.Status, o.LapsesAt, o.EndedAt = ObjectionLapsed, &lapses, &lapses
		default:
			o.Status, o.LapsesAt = ObjectionActive, &lapses
		}
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
	if r.History == nil {
		r.History = []HistoryEntry{}
	}
	return r
}

// Event types: each event in a registration's history is one of these.
const (
	EventInitial             = "initial"
	EventAmendment           = "amendment"
	EventExtension           = "extension"
	EventCancellation        = "cancellation"
	EventObjection           = "objection"
	EventObjectionWithdrawal = "objection_withdrawal"
	EventCaseNotice          = "objection_case_notice"
	EventRevocation          = "revocation"
	EventObjectionRevocation = "objection_revocation"
	// EventExpiry and EventObjectionLapse record what the clock already made
	// true: a registration's expiry, an objection's lapse.
	EventExpiry         = "expiry"
	EventObjectionLapse = "objection_lapse"
)

// EventTypes lists every type of registry event.
var EventTypes = []string{EventInitial, EventAmendment, EventExtension, EventCancellation, EventObjection, EventObjectionWithdrawal,
	EventCaseNotice, EventRevocation, EventObjectionRevocation, EventExpiry, EventObjectionLapse}
