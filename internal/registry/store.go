package registry

import (
	"context"
	"time"
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
	// Record is the event in full: what the registry replays.
	Record []byte
	// LogRecord, when set, is what the log commits to instead: Record with
	// each identity number replaced by a salted commitment, which Openings
	// open (see commitments.go).
	LogRecord []byte
	Openings  []Opening
	// ErasedAt is when the personal data of the individuals the event
	// names was erased from Record and Openings (retention.go); nil while
	// it is kept.
	ErasedAt *time.Time
	// decoded is the record already decoded (by OpenRecord), so that a
	// verifier's replay of millions decodes each once.
	decoded *event
}

// Leaf is the record the log commits to: the leaf's bytes.
func (e EventRecord) Leaf() []byte {
	if e.LogRecord != nil {
		return e.LogRecord
	}
	return e.Record
}

// IdempotentResponse is a creating request's first answer, as stored.
type IdempotentResponse struct {
	Fingerprint []byte
	Sealed      []byte
}

// Tx is what the registry reads and writes, inside or outside a transaction:
// every feature's store together.
type Tx interface {
	AccountStore
	RegistrationStore
	ObjectionStore
	NoticeStore
	WatchStore
	WebhookStore
	DraftStore
	PartyStore
	StatisticsStore
	AttachmentStore
	DeliveryStore
	SearchStore
	HistoryStore
	IdempotencyStore
	AuditStore
	LogStore
	DeadlineStore
	SuccessionStore
	RetentionStore
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
	// Exclusive runs fn unless another instance on the same database is
	// running one under the same name (then ran is false): the jobs that
	// must run once across instances (signing checkpoints, recording
	// deadlines) run under it.
	Exclusive(ctx context.Context, name string, fn func() error) (ran bool, err error)
	// Ping reports whether the store is reachable and its schema current.
	Ping(ctx context.Context) error
	// Replicas reports the standbys that reads may go to (none when there
	// are none).
	Replicas() []ReplicaState
}

// ReplicaState is one standby as the instance last found it: in use when
// it answers and lags no more than allowed.
type ReplicaState struct {
	Name       string  `json:"name"`
	Address    string  `json:"address"`
	InUse      bool    `json:"in_use"`
	LogSize    int64   `json:"log_size"`
	LagSeconds float64 `json:"lag_seconds"`
	Error      string  `json:"error,omitempty"`
}
