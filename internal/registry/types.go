// Package registry is the domain of the register: registrations, their events,
// searches and accounts, the rules that govern them, and the Store they need.
// It imports no transport and no ORM.
package registry

import "time"

// Kinds of security interest the register covers (DOMAIN.md).
var Kinds = []string{"chattel_mortgage", "receivables_pledge", "document_pledge", "financial_lease", "factoring", "retention_of_title", "other"}

// ItemTypes are the kinds of serial-numbered collateral items.
var ItemTypes = []string{"equipment", "vehicle", "vessel", "aircraft", "inventory", "receivable", "other"}

// CancellationReasons are the reasons a registration may be cancelled for.
var CancellationReasons = []string{"debt_repaid", "security_realised", "security_waived", "other"}

// OrganizationKinds are the kinds of account-holding organization.
var OrganizationKinds = []string{"enterprise", "financial_institution", "other", OrgKindRegistry}

// OrgKindRegistry is the kind of the registry's own organizations, the only
// ones whose users hold staff roles (admin, auditor). Only an admin makes
// one; sign-up cannot choose it.
const OrgKindRegistry = "registry"

// Registration statuses.
const (
	StatusEffective = "effective"
	StatusExpired   = "expired"
	StatusCancelled = "cancelled"
	StatusRevoked   = "revoked"
)

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

// Objection statuses.
const (
	ObjectionActive     = "active"
	ObjectionLitigating = "litigating"
	ObjectionWithdrawn  = "withdrawn"
	ObjectionLapsed     = "lapsed"
	ObjectionRevoked    = "revoked"
)

// Time is an instant as the register shows and records it: RFC 3339 in UTC
// with exactly six fractional digits, so that every time has the same form
// (Go's own encoding drops trailing zeros, and a whole second's fraction).
type Time struct{ time.Time }

// At makes a Time of t, in UTC and to the microsecond.
func At(t time.Time) Time { return Time{t.UTC().Truncate(time.Microsecond)} }

// TimeLayout is the one form of a Time in JSON.
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// MarshalJSON writes the fixed form.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format(TimeLayout) + `"`), nil
}

// UnmarshalJSON reads any RFC 3339 time.
func (t *Time) UnmarshalJSON(b []byte) error {
	if err := t.Time.UnmarshalJSON(b); err != nil {
		return err
	}
	t.Time = t.UTC()
	return nil
}

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
	Address            string `json:"address,omitempty"`
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

// Objection is a dispute registered against a registration, as it stands at
// the instant the registration is shown.
type Objection struct {
	Number     string      `json:"number"`
	Status     string      `json:"status"`
	FiledAt    Time        `json:"filed_at"`
	LapsesAt   *Time       `json:"lapses_at,omitempty"`
	By         Actor       `json:"by"`
	Statement  string      `json:"statement"`
	Interest   string      `json:"interest,omitempty"`
	CaseNotice *CaseNotice `json:"case_notice,omitempty"`
	EndedAt    *Time       `json:"ended_at,omitempty"`

	lapsesAt time.Time
	ended    string // withdrawn or revoked, by an event
	endedAt  time.Time
}

// CaseNotice is a court's or arbitration body's notice that it accepted the
// objector's case; with it an objection no longer lapses.
type CaseNotice struct {
	Court       string `json:"court"`
	CaseNumber  string `json:"case_number"`
	AcceptedOn  string `json:"accepted_on"`
	SubmittedAt Time   `json:"submitted_at"`
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

// Amendment changes a registration (API.md, amendments). Every field is
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

// ObjectionRequest files an objection. Interest states the objector's
// interest and is required of an organization that is not a grantor.
type ObjectionRequest struct {
	Statement string `json:"statement"`
	Interest  string `json:"interest,omitempty"`
}

// CaseNoticeRequest submits a case-acceptance notice for an objection.
type CaseNoticeRequest struct {
	Court      string `json:"court"`
	CaseNumber string `json:"case_number"`
	AcceptedOn string `json:"accepted_on"`
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

// Page is one page of a list (API.md, Lists).
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// RegistrationPage is one page of a list of registrations.
type RegistrationPage = Page[Registration]

// Organization is an account-holding organization.
type Organization struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	USCC   string `json:"uscc"`
	Kind   string `json:"kind"`
	Status string `json:"status"`
}

// User is a person acting for an organization.
type User struct {
	ID             string   `json:"id"`
	OrganizationID string   `json:"organization_id"`
	Email          string   `json:"email"`
	DisplayName    string   `json:"display_name"`
	Roles          []string `json:"roles"`
	// Status is active or suspended.
	Status string `json:"status"`
}

// OrganizationInput is an organization as a request names it.
type OrganizationInput struct {
	Name string `json:"name"`
	USCC string `json:"uscc"`
	Kind string `json:"kind"`
}

// SignUpUser is the first user of an organization that signs up.
type SignUpUser struct {
	Email       string `json:"email"`
	DisplayName string `json:"display_name"`
	Password    string `json:"password"`
}

// SignUpRequest opens an organization's account, pending approval.
type SignUpRequest struct {
	Organization OrganizationInput `json:"organization"`
	User         SignUpUser        `json:"user"`
}

// RejectionRequest is an admin's refusal of a pending sign-up.
type RejectionRequest struct {
	Note string `json:"note"`
}

// SignedUp is a new pending organization and its first user.
type SignedUp struct {
	Organization Organization `json:"organization"`
	User         User         `json:"user"`
}

// OrganizationListRequest asks for a page of organizations.
type OrganizationListRequest struct {
	Status, Cursor, Limit string
}

// UserListRequest asks for a page of an organization's users.
type UserListRequest struct {
	OrganizationID, Cursor, Limit string
}

// TokenListRequest asks for a page of a user's live tokens.
type TokenListRequest struct {
	UserID, Cursor, Limit string
}

// TokenInfo is a live token as its user and managers see it: never its secret.
type TokenInfo struct {
	ID         string `json:"id"`
	UserID     string `json:"user_id"`
	CreatedAt  Time   `json:"created_at"`
	ExpiresAt  Time   `json:"expires_at"`
	LastUsedAt *Time  `json:"last_used_at"`
}

// Credentials are what sign-in checks a password against.
type Credentials struct {
	User               User
	PasswordHash       string
	OrganizationStatus string
	OrganizationKind   string
}

// NewUser is a request to create a user.
type NewUser struct {
	OrganizationID string   `json:"organization_id"`
	Email          string   `json:"email"`
	DisplayName    string   `json:"display_name"`
	Roles          []string `json:"roles"`
	Password       string   `json:"password,omitempty"`
}

// TokenRequest asks for a token: for a user by id (admin, org_admin) or by
// email and password (anyone).
type TokenRequest struct {
	UserID   string `json:"user_id,omitempty"`
	Email    string `json:"email,omitempty"`
	Password string `json:"password,omitempty"`
	// TTL shortens the token's life below the registry's TokenTTL, as a
	// web session's is; it is not part of the API.
	TTL time.Duration `json:"-"`
}

// IssuedToken is a new bearer token, shown once.
type IssuedToken struct {
	Token     string `json:"token"`
	ExpiresAt Time   `json:"expires_at"`
}

// Me is the caller's own account.
type Me struct {
	User         *User         `json:"user"`
	Organization *Organization `json:"organization"`
	Roles        []string      `json:"roles"`
}

// Criteria are the search keys; exactly one is set.
type Criteria struct {
	GrantorName        string `json:"grantor_name,omitempty"`
	USCC               string `json:"uscc,omitempty"`
	LEI                string `json:"lei,omitempty"`
	IDNumber           string `json:"id_number,omitempty"`
	RegistrationNumber string `json:"registration_number,omitempty"`
	SerialNumber       string `json:"serial_number,omitempty"`
}

// SearchRequest is a search as a searcher asks for it.
type SearchRequest struct {
	Criteria        Criteria   `json:"criteria"`
	AsOf            *time.Time `json:"as_of,omitempty"`
	IncludeInactive bool       `json:"include_inactive"`
}

// SearchResult is one registration found by a search.
type SearchResult struct {
	Registration Registration `json:"registration"`
	MatchedBy    string       `json:"matched_by"`
}

// Warning is advice about a search that is not part of its certified result.
type Warning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// SearchCertificate is a search and exactly what it returned, as stored.
type SearchCertificate struct {
	Number           string   `json:"number"`
	SearchedAt       Time     `json:"searched_at"`
	AsOf             Time     `json:"as_of"`
	Criteria         Criteria `json:"criteria"`
	IncludeInactive  bool     `json:"include_inactive"`
	RegisterPosition int64    `json:"register_position"`
	// ResultCount is everything the search found; Results is the first
	// page of it, Truncated when there is more, read from NextCursor on.
	ResultCount  int            `json:"result_count"`
	Truncated    bool           `json:"truncated"`
	NextCursor   string         `json:"next_cursor,omitempty"`
	Results      []SearchResult `json:"results"`
	SimilarNames []string       `json:"similar_names"`
	Warnings     []Warning      `json:"warnings,omitempty"`
}

// SearchPage is one page of a stored search's results.
type SearchPage struct {
	Number      string         `json:"number"`
	AsOf        Time           `json:"as_of"`
	ResultCount int            `json:"result_count"`
	Cursor      string         `json:"cursor"`
	Results     []SearchResult `json:"results"`
	NextCursor  string         `json:"next_cursor,omitempty"`
}

// Certificate verifies a registration, event or search certificate number.
type Certificate struct {
	Number             string `json:"number"`
	KindOfCertificate  string `json:"kind_of_certificate"`
	IssuedAt           Time   `json:"issued_at"`
	Digest             string `json:"digest"`
	RegistrationNumber string `json:"registration_number,omitempty"`
}
