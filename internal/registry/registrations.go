package registry

import (
	"context"
	"time"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/identifiers"
)

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

// Registration statuses.
const (
	StatusEffective = "effective"
	StatusExpired   = "expired"
	StatusCancelled = "cancelled"
	StatusRevoked   = "revoked"
)

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
	// Succession says that an amendment was an assignment by succession
	// (POST /organizations/{id}/succession): on what basis, the document,
	// and whose place the successor took.
	Succession *HistorySuccession `json:"succession,omitempty"`
}

// HistorySuccession is an assignment by succession as the history shows it.
type HistorySuccession struct {
	Basis           string `json:"basis"`
	DocumentNumber  string `json:"document_number"`
	PredecessorUSCC string `json:"predecessor_uscc"`
}

// Registration is the state of a registration at some instant, derived from
// its events, in the form the API shows it.
type Registration struct {
	Number           string     `json:"number"`
	Kind             string     `json:"kind"`
	Status           string     `json:"status"`
	RegisteredAt     Time       `json:"registered_at"`
	ExpiresAt        Time       `json:"expires_at"`
	Version          int        `json:"version"`
	Controller       Controller `json:"controller"`
	Grantors         []Party    `json:"grantors"`
	SecuredParties   []Party    `json:"secured_parties"`
	Collateral       Collateral `json:"collateral"`
	PeriodMonths     int        `json:"period_months"`
	MaxSecuredAmount *Money     `json:"max_secured_amount,omitempty"`
	Reference        string     `json:"reference,omitempty"`
	// AgreedWithGrantor is the filer's declaration that the grantor agreed
	// to the content (absent from registrations filed before it was asked
	// for); PrincipalAmount, SecurityScope and TransferRestriction what the
	// parties agreed to register besides.
	AgreedWithGrantor   bool           `json:"agreed_with_grantor,omitempty"`
	PrincipalAmount     *Money         `json:"principal_amount,omitempty"`
	SecurityScope       string         `json:"security_scope,omitempty"`
	TransferRestriction string         `json:"transfer_restriction,omitempty"`
	Objections          []Objection    `json:"objections"`
	History             []HistoryEntry `json:"history"`
	ModificationCode    string         `json:"modification_code,omitempty"`
	// LogIndex is the log position of the registration's latest event shown.
	LogIndex int64 `json:"log_index"`
	// EndedAt is when a cancellation or revocation ended the registration.
	EndedAt *Time `json:"ended_at,omitempty"`
	// ErasedAt is when the personal data of the individuals it names (their
	// names, identity numbers and addresses) was erased, its retention
	// period after the registration ended having passed: those fields are
	// empty since.
	ErasedAt *Time `json:"erased_at,omitempty"`

	ended string // cancelled or revoked, by an event
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
