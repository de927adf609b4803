package registry

import (
	"context"
	"time"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/auth"
)

// StampKind tells the sequencer what a write adds to the register.
type StampKind int

const (
	// StampEvent is a registry event: it takes a number, a time and a log position.
	StampEvent StampKind = iota
	// StampSearch is a stored search: it takes a number and a time, and sees
	// every event before it.
	StampSearch
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

// RegistrationState is what a write needs to know about a registration before
// it changes it; reading it locks the registration until the write commits.
type RegistrationState struct {
	Number               string
	ControllerID         string
	StoredStatus         string
	ExpiresAt            time.Time
	ModificationCodeHash []byte
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
}

// StoredSearch is a search certificate as stored: the exact answer given.
type StoredSearch struct {
	Number         string
	OrganizationID string
	Body           []byte
}

// Tx is what the registry reads and writes, inside or outside a transaction.
type Tx interface {
	InsertAudit(ctx context.Context, e audit.Entry) error

	InsertOrganization(ctx context.Context, o *Organization) error
	Organization(ctx context.Context, id string) (Organization, error)
	InsertUser(ctx context.Context, u *User, passwordHash string) error
	User(ctx context.Context, id string) (User, error)
	UserCredentials(ctx context.Context, email string) (User, string, error)
	InsertToken(ctx context.Context, userID string, hash []byte, expiresAt time.Time) error
	TokenPrincipal(ctx context.Context, hash []byte, now time.Time) (auth.Principal, error)

	InsertEvent(ctx context.Context, e EventRecord) error
	InsertRegistration(ctx context.Context, r *Registration, modificationCodeHash []byte) error
	LockRegistration(ctx context.Context, anyNumber string) (RegistrationState, error)
	EndRegistration(ctx context.Context, number, status string, at time.Time) error
	// Registrations loads registrations as they stood at asOf, in
	// registration order, with Status holding the stored final status.
	Registrations(ctx context.Context, numbers []string, asOf time.Time) ([]Registration, error)
	RegistrationNumberOf(ctx context.Context, anyNumber string) (string, error)

	FindRegistrations(ctx context.Context, q Query) ([]Match, error)
	SimilarNames(ctx context.Context, nameKey string, asOf time.Time, limit int) ([]string, error)
	LogSizeAt(ctx context.Context, t time.Time) (int64, error)
	InsertSearch(ctx context.Context, c *SearchCertificate, s StoredSearch, userID string) error
	Search(ctx context.Context, number string) (StoredSearch, error)
	Certificate(ctx context.Context, number string) (Certificate, error)
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
