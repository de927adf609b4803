// Package audit describes the entries of the registry's audit trail.
package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"strings"
	"time"
)

// Outcome classifies how an action ended, as the API's audit entries give it (docs/api.md).
type Outcome string

// The outcomes of an audited action.
const (
	Success Outcome = "success"
	Denied  Outcome = "denied"  // 401, 403, 429
	Invalid Outcome = "invalid" // 400, 404, 409, 412, 413, 422
	Error   Outcome = "error"   // the registry's own failure
)

// OutcomeOf maps an HTTP-like status to the outcome recorded for it.
func OutcomeOf(status int) Outcome {
	switch {
	case status < 400:
		return Success
	case status == 401 || status == 403 || status == 429:
		return Denied
	case status < 500:
		return Invalid
	default:
		return Error
	}
}

// ActorKind says who acted when no user id can: the operator's bootstrap
// token, or a caller who was not authenticated.
type ActorKind string

// The kinds of actor.
const (
	UserActor      ActorKind = "user"
	BootstrapAdmin ActorKind = "bootstrap_admin"
	Anonymous      ActorKind = "anonymous"
)

// Entry is one row of the audit trail.
type Entry struct {
	At             time.Time
	Actor          ActorKind
	UserID         string // empty for the bootstrap admin token or an unauthenticated caller
	OrganizationID string
	Action         string
	Target         string
	Outcome        Outcome
	Source         string // the client's address
	RequestID      string
	Detail         string
}

// Clean makes every text field storable as PostgreSQL text, exactly as
// written: invalid UTF-8 and NUL (which a hostile request may put in a path
// or a header) become U+FFFD, so that the entry is written at all and reads
// back as it was hashed.
func (e Entry) Clean() Entry {
	for _, f := range []*string{&e.UserID, &e.OrganizationID, &e.Action, &e.Target, &e.Source, &e.RequestID, &e.Detail} {
		*f = strings.ReplaceAll(strings.ToValidUTF8(*f, "\uFFFD"), "\x00", "\uFFFD")
	}
	return e
}

// timeLayout is how the chain writes an entry's time: UTC, microseconds.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// Canonical is the entry's bytes as the audit chain hashes them: its fields
// as a JSON object in a fixed order, the time in UTC to the microsecond.
// The id is not among them: the chain puts it beside them.
func (e Entry) Canonical() []byte {
	b, err := json.Marshal(struct {
		At             string `json:"at"`
		Actor          string `json:"actor"`
		UserID         string `json:"user_id"`
		OrganizationID string `json:"organization_id"`
		Action         string `json:"action"`
		Target         string `json:"target"`
		Outcome        string `json:"outcome"`
		Source         string `json:"source"`
		RequestID      string `json:"request_id"`
		Detail         string `json:"detail"`
	}{e.At.UTC().Format(timeLayout), string(e.Actor), e.UserID, e.OrganizationID, e.Action, e.Target,
		string(e.Outcome), e.Source, e.RequestID, e.Detail})
	if err != nil {
		panic(err) // strings only: cannot fail
	}
	return b
}

// Chain is the audit chain's value at entry id, following prev:
// SHA-256(prev || id as 8 bytes big-endian || e.Canonical()). The database
// computes the same when it appends an entry.
func Chain(prev []byte, id int64, e Entry) []byte {
	h := sha256.New()
	h.Write(prev)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(id))
	h.Write(n[:])
	h.Write(e.Canonical())
	return h.Sum(nil)
}

// ChainStart is the value the chain follows at its first entry.
var ChainStart = make([]byte, sha256.Size)

// System is the registry itself, acting on its own clock (recording lapses
// and expiries).
const System ActorKind = "registry"

// Record is an entry as the trail holds it: its place and its chain value.
// Chain is empty for entries written before the chain began.
type Record struct {
	ID int64
	Entry
	Chain []byte
}

// Filter selects entries of the trail; empty fields select everything.
type Filter struct {
	// Actor is a user id, or an actor kind (anonymous, bootstrap_admin, registry).
	Actor          string
	OrganizationID string
	// ActorEmail selects the entries of the user with this email (in any
	// letter case); OrganizationName those of organizations whose name
	// holds this text.
	ActorEmail       string
	OrganizationName string
	// Actions selects entries of any of these actions.
	Actions  []string
	Target   string
	Outcome  Outcome
	From, To *time.Time
	// Before is the id of the last entry of the previous page: lists run
	// newest first.
	Before int64
	Limit  int
}
