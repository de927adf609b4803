package registry

import (
	"context"
	"time"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/translog"
)

// StampKind tells the sequencer what a write adds to the register.
type StampKind int

const (
	// StampEvent is a registry event: it takes a number, a time and a log position.
	StampEvent StampKind = iota
	// StampSearch is a stored search: it takes a number and a time, and sees
	// every event before it.
	StampSearch
	// StampSearchAsOf is a stored search that reads only as of its stamp
	// and writes nothing but its certificate and audit entry: the store may
	// run it outside the writing transaction, on the committed register,
	// once every event before its stamp has committed, and append its rows
	// afterwards. A search with an idempotency key is a StampSearch, since
	// claiming the key writes.
	StampSearchAsOf
)

// Stamp is what the sequencer hands a write inside its transaction: its number,
// its time, and its place in the register. Numbers, times and log positions
// increase in the order in which writes commit.
type Stamp struct {
	Number string
	At     time.Time
	// LogIndex is an event's 0-based log position; -1 for a search.
	LogIndex int64
	// LogSize is the number of events in the register including this write.
	LogSize int64
}

// EventRecord is one immutable registry event as stored, with the canonical
// bytes that the log commits to.
type EventRecord struct {
	LogIndex           int64
	Number             string
	Type               string
	RegistrationNumber string
	At                 time.Time
	OrganizationID     string
	UserID             string
	Record             []byte
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

// Notification is something an organization must be told.
type Notification struct {
	OrganizationID     string
	RegistrationNumber string
	EventNumber        string
	Kind               string
	At                 time.Time
}

// IdempotentResponse is a creating request's first answer, as stored.
type IdempotentResponse struct {
	Fingerprint []byte
	Sealed      []byte
}

// Match is a registration a search key found, and how.
type Match struct {
	RegistrationNumber string
	MatchedBy          string
}

// Query is a search as the store runs it: normalized keys, at an instant.
type Query struct {
	Criteria  Criteria
	NameKey   string
	SerialKey string
	AsOf      time.Time
	// Inactive finds registrations that were not effective at AsOf too.
	Inactive bool
}

// SimilarQuery asks for the names similar to a searched one: the name as
// typed, its search key, and the instant and statuses of the search.
type SimilarQuery struct {
	Name, Key       string
	AsOf            time.Time
	IncludeInactive bool
}

// StoredSearch is a search certificate as stored: the exact answer given.
type StoredSearch struct {
	Number         string
	OrganizationID string
	Body           []byte
	// Truncated searches keep what a page needs: the instant, everything
	// found in order, and whom the answer was for (masking is the searcher's).
	Truncated   bool
	AsOf        time.Time
	ResultCount int
	Matches     []Match
	ViewerUSCC  string
	ViewerStaff bool
}

// Allowance is the answer of a capped action: let through, or refused until
// RetryAfter has passed; Burst marks the first refusal of a burst.
type Allowance struct {
	Allowed    bool
	RetryAfter time.Duration
	Burst      bool
}

// Tx is what the registry reads and writes, inside or outside a transaction.
type Tx interface {
	InsertAudit(ctx context.Context, e audit.Entry) error

	InsertOrganization(ctx context.Context, o *Organization, at time.Time) error
	Organization(ctx context.Context, id string) (Organization, error)
	// SetOrganizationStatus changes an organization's status from one to
	// another; ErrConflict if it was no longer from.
	SetOrganizationStatus(ctx context.Context, id, from, to string, at time.Time) (Organization, error)
	// ListOrganizations returns up to limit organizations after the one with
	// id after, in id order (ids are time-ordered), with status if given.
	ListOrganizations(ctx context.Context, status, after string, limit int) ([]Organization, error)
	InsertUser(ctx context.Context, u *User, passwordHash string, at time.Time) error
	User(ctx context.Context, id string) (User, error)
	SetUserStatus(ctx context.Context, id, status string, at time.Time) (User, error)
	ListUsers(ctx context.Context, organizationID, after string, limit int) ([]User, error)
	// UserCredentials finds a user by email (stored in lower case), whatever
	// its organization's status; a suspended user, or one of a rejected
	// sign-up, is ErrNotFound.
	UserCredentials(ctx context.Context, email string) (Credentials, error)
	InsertToken(ctx context.Context, userID string, hash []byte, at, expiresAt time.Time) error
	// TokenPrincipal finds the principal behind a live token (unexpired, not
	// revoked, of an active user of an active organization, not a staff user
	// outside the registry's organizations) and notes its use.
	TokenPrincipal(ctx context.Context, hash []byte, now time.Time) (auth.Principal, error)
	ListTokens(ctx context.Context, userID string, now time.Time, after string, limit int) ([]TokenInfo, error)
	// TokenOwner returns the id of a token's user.
	TokenOwner(ctx context.Context, id string) (string, error)
	RevokeToken(ctx context.Context, id string, at time.Time) error
	// RevokeTokensOf revokes every live token of a user, or of every user of
	// an organization.
	RevokeTokensOf(ctx context.Context, organizationID, userID string, at time.Time) error

	// OrganizationByUSCC finds the organization that holds a USCC (not a
	// rejected sign-up).
	OrganizationByUSCC(ctx context.Context, uscc string) (Organization, error)
	// RejectOrganization rejects a pending organization and frees its USCC
	// and its users' emails; ErrConflict if it is no longer pending.
	RejectOrganization(ctx context.Context, id, note string, at time.Time) (Organization, error)
	// StaffOutsideRegistry lists users holding a staff role outside the
	// registry's own organizations.
	StaffOutsideRegistry(ctx context.Context) ([]User, error)

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
	InsertNotification(ctx context.Context, n Notification) error

	// ClaimIdempotencyKey records a new key, or returns what an earlier
	// request with it stored (claimed false).
	ClaimIdempotencyKey(ctx context.Context, id, fingerprint []byte, at time.Time) (prior IdempotentResponse, claimed bool, err error)
	SaveIdempotentResponse(ctx context.Context, id, sealed []byte) error

	// FindRegistrations returns what a search key finds at q.AsOf, in
	// registration order, each registration once (effective ones only,
	// unless q.Inactive), and the events up to q.AsOf of the first first of
	// them, in log order.
	FindRegistrations(ctx context.Context, q Query, first int) ([]Match, []EventRecord, error)
	// SimilarNames offers up to limit names similar to a searched one
	// (identity.Compare), best first, each one that a search as of q.AsOf
	// would find something for.
	SimilarNames(ctx context.Context, q SimilarQuery, limit int) ([]string, error)
	// TakeIDNumberSearch counts one more search by identity number for a
	// searcher at at, unless it has made limit of them within window.
	TakeIDNumberSearch(ctx context.Context, searcher string, at time.Time, limit int, window time.Duration) (Allowance, error)
	LogSizeAt(ctx context.Context, t time.Time) (int64, error)
	InsertSearch(ctx context.Context, c *SearchCertificate, s StoredSearch, userID string) error
	Search(ctx context.Context, number string) (StoredSearch, error)
	// SearchPage returns a stored page of a search's results (ErrNotFound
	// before it was first read); InsertSearchPage keeps one, unless a page
	// is kept at that cursor already.
	SearchPage(ctx context.Context, number string, cursor int) ([]byte, error)
	InsertSearchPage(ctx context.Context, number string, cursor int, body []byte) error
	Certificate(ctx context.Context, number string) (Certificate, error)

	// ReadHashes reads the log's stored hashes by tlog storage index.
	ReadHashes(ctx context.Context, indexes []int64) ([]translog.Hash, error)
	// LogSize is the number of events committed.
	LogSize(ctx context.Context) (int64, error)
	LogEntries(ctx context.Context, from, to int64) ([]LogEntry, error)
	// LatestCheckpoint is ErrNotFound before the first is published.
	LatestCheckpoint(ctx context.Context) (SignedCheckpoint, error)
	InsertCheckpoint(ctx context.Context, c SignedCheckpoint) error

	// Audit returns the entries f selects, newest first; StreamAudit hands
	// them to fn one at a time instead of holding them.
	Audit(ctx context.Context, f audit.Filter) ([]audit.Record, error)
	StreamAudit(ctx context.Context, f audit.Filter, fn func(audit.Record) error) error

	InsertObjectionDeadline(ctx context.Context, objection, registration string, lapsesAt time.Time) error
	// DueDeadlines lists up to limit expiries and lapses due at now that no
	// event records yet, oldest first.
	DueDeadlines(ctx context.Context, now time.Time, limit int) ([]Deadline, error)
	SettleDeadline(ctx context.Context, d Deadline, at time.Time) error
}

// Store is the registry's storage.
type Store interface {
	Tx
	// Sequence runs fn in one writing transaction after assigning it the next
	// number, time and log position. Every registry write goes through here,
	// so that numbers and times follow commit order.
	Sequence(ctx context.Context, kind StampKind, fn func(tx Tx, st Stamp) error) error
	// InTx runs fn in a transaction that is not part of the register's order
	// (accounts).
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// Ping reports whether the store is reachable and its schema current.
	Ping(ctx context.Context) error
}
