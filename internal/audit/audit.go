// Package audit describes the entries of the registry's audit trail.
package audit

import "time"

// Outcome classifies how an action ended, as API.md's audit section defines.
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
