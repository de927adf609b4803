package registry

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/note"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/translog"
)

// readPage reads a list's limit and cursor. A cursor is the base64url form of
// the last item's key on the page before; valid says whether a key could be one.
func readPage(p *problems, limit, cursor string, valid func(string) bool) (n int, after string) {
	n = defaultPage
	if limit != "" {
		var err error
		n, err = strconv.Atoi(limit)
		if err != nil || n < 1 || n > maxPage {
			p.add("limit", CodeInvalidField, fmt.Sprintf("must be a whole number from 1 to %d", maxPage))
			n = defaultPage
		}
	}
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || !valid(string(b)) {
			p.add("cursor", CodeInvalidField, "is not a cursor this list gave")
		}
		after = string(b)
	}
	return n, after
}

// pageOf cuts the one item fetched beyond limit off and makes the cursor.
func pageOf[T any](items []T, limit int, key func(T) string) Page[T] {
	page := Page[T]{Items: items, after: func(x T) string { return cursorOf(key(x)) }}
	if page.Items == nil {
		page.Items = []T{}
	}
	if len(items) > limit {
		page.Items = items[:limit]
		page.NextCursor = page.after(items[limit-1])
	}
	return page
}

// listReadBytes is about how much of a list of large items (drafts, log
// entries) is read for one page: the API answers at most 4 MiB of it, and
// reading 500 items of 1 MiB to answer four would hold hundreds of MB.
const listReadBytes = 4 << 20

// pageWithin reads a page of a list a few items at a time, until it holds
// limit of them or about listReadBytes (by size), and gives the cursor
// after the last item read when it stopped for size: fetch reads n items
// after a key, as the store's keyset reads do.
func pageWithin[T any](limit int, after string, fetch func(after string, n int) ([]T, error), key func(T) string, size func(T) int) (Page[T], error) {
	var items []T
	read := 0
	for len(items) <= limit {
		n := min(8, limit+1-len(items))
		got, err := fetch(after, n)
		if err != nil {
			return Page[T]{}, err
		}
		items = append(items, got...)
		if len(got) < n {
			break // the list's end
		}
		after = key(items[len(items)-1])
		for _, x := range got {
			read += size(x)
		}
		if read > listReadBytes && len(items) <= limit {
			page := pageOf(items, limit, key)
			page.NextCursor = page.after(items[len(items)-1])
			return page, nil
		}
	}
	return pageOf(items, limit, key), nil
}

// cursorOf is the cursor of the page after the item with key k.
func cursorOf(k string) string { return base64.RawURLEncoding.EncodeToString([]byte(k)) }

func isUUID(s string) bool { return uuid.Validate(s) == nil && len(s) == 36 }

// Config holds the service's tunable rules.
type Config struct {
	// AdminToken, when set, authenticates the operator as a registry admin.
	AdminToken string
	// TokenTTL is how long an issued token stays valid.
	TokenTTL time.Duration
	// SimilarNames caps the advisory similar names of a name search.
	SimilarNames int
	// ExtensionWindowDays is how many days before expiry an extension may be
	// filed; 0 means at any time while the registration is effective.
	ExtensionWindowDays int
	// SignInFailures is how many failed sign-ins an account may have before
	// each further attempt must wait (an address may have four times as many).
	SignInFailures int
	// SignInMaxDelay caps the wait between sign-in attempts.
	SignInMaxDelay time.Duration
	// LogSigner signs the log's checkpoints; LogVerifierKey is its public
	// half as clients fetch it, and LogOrigin the log's name in checkpoints
	// (the key's name when empty).
	LogSigner      note.Signer
	LogVerifierKey string
	LogOrigin      string
	// Sandbox marks a register for integrators to try against: its
	// certificates say they prove nothing (config's sandbox).
	Sandbox bool
	// LogPreviousSigner and LogPreviousVerifierKey are the key that signed
	// the register before a rotation (log.previous_key_file): while it is
	// configured, checkpoints are signed with both keys, so that readers
	// who trust the old one follow to the new one.
	LogPreviousSigner      note.Signer
	LogPreviousVerifierKey string
	// MaxResults and MaxAnswerBytes bound a search's answer (defaults 1,000
	// and 4 MiB of JSON); the rest is paged from the stored search.
	MaxResults     int
	MaxAnswerBytes int
	// PrincipalTTL is how long who a token's holder is may be remembered
	// between lookups (0: looked up on every request). Changes made through
	// this service are seen at once; another instance's within it.
	PrincipalTTL time.Duration
	// IDNumberPerHour caps one searcher's searches by identity number over
	// any hour (default 60): beyond it they are 429, and the first refusal
	// of a burst is its own audited action.
	IDNumberPerHour int
	// PasswordHashers bounds how many password hashes (argon2id, 19 MiB
	// each) are computed at once (default: the number of CPUs); PasswordWait
	// is how long a sign-in waits for a turn before it is refused with 503
	// (default 2 s).
	PasswordHashers int
	PasswordWait    time.Duration
	// PasswordCost is the work of each password hash: auth's default (the
	// OWASP minimum) unless a test asks for less.
	PasswordCost auth.PasswordCost
	// SignUpsPerHour caps sign-ups from one client address (0: no cap).
	SignUpsPerHour int
	// SharedSignIn, when set, counts failed sign-ins where every instance
	// on the database sees them, instead of in this process.
	SharedSignIn SignInFailureStore
	// CheckWebhookURL refuses a webhook's address that the registry must
	// not call (a private, loopback or link-local one after DNS
	// resolution, unless allowed); nil refuses every webhook.
	CheckWebhookURL func(ctx context.Context, raw string) error
	// IdempotencyRetention is how long an Idempotency-Key replays its first
	// answer (default 24 h); after it the key is new again, and a job
	// purges it.
	IdempotencyRetention time.Duration
	// AttachmentsMaxBytes is how many bytes of attachments one
	// organization may hold, named or not (default 1 GiB); beyond it an
	// upload is ErrQuotaExceeded. AttachmentsUnnamedRetention is how long
	// an upload that nothing names is kept (default 7 days).
	AttachmentsMaxBytes         int64
	AttachmentsUnnamedRetention time.Duration
	// RetentionYears is how many years after a registration ended its
	// individuals' personal data is kept before ErasePersonalData erases
	// it (default 15: the 2021 Measures keep records 15 years after a
	// registration ends).
	RetentionYears int
	// ReminderDays are how many days before its expiry a registration's
	// controller is reminded, once each (default 90, 30 and 7).
	ReminderDays []int
	// Witnesses are asked to cosign each checkpoint before it is published
	// (C2SP tlog-witness), each within WitnessTimeout (default 5 s); a
	// checkpoint is published with the cosignatures that came. OnWitness,
	// when set, hears each witness's outcome (nil error: cosigned).
	Witnesses      []Witness
	WitnessTimeout time.Duration
	OnWitness      func(witness string, err error)
}

// Service carries out every registry operation, checking the caller's
// permission first and committing each change with its audit entry.
type Service struct {
	store     Store
	now       func() time.Time
	cfg       Config
	adminHash []byte
	// dummyHash is what a sign-in for an unknown email is checked against:
	// a hash at the same cost as every user's (Config.PasswordCost), so that
	// the answer takes as long as for a known one.
	dummyHash string
	// Failed sign-ins by account and by address.
	accountFailures, addressFailures failures
	// signed is the last checkpoint this process signed: the next must
	// extend it, whatever the database says by then.
	signedMu sync.Mutex
	signed   translog.Checkpoint
	// keyMismatch is set when the configured log key did not sign the
	// register's latest checkpoint: the instance is not ready, and signs
	// nothing, until it is restarted with the right key.
	keyMismatch atomic.Pointer[LogKeyMismatch]
	// rotationChecked is set once this process has looked for a key
	// rotation to record (under signedMu).
	rotationChecked bool
	// witnessed is the size each witness cosigned last, as far as this
	// process knows (a witness corrects it with a 409).
	witnessMu sync.Mutex
	witnessed map[string]int64
	// principals remembers tokens' holders for cfg.PrincipalTTL.
	principals principals
	// hashers holds a slot for each password hash being computed.
	hashers chan struct{}
	// signUps counts sign-ups by client address.
	signUps *auth.Quota
}

// DefaultConfig is the service's settings where a Config leaves them zero:
// the one place each of these defaults is written (registryd's settings
// table takes them from here).
func DefaultConfig() Config {
	return Config{
		TokenTTL:                    30 * 24 * time.Hour,
		SimilarNames:                5,
		MaxResults:                  1000,
		MaxAnswerBytes:              4 << 20,
		SignInFailures:              5,
		SignInMaxDelay:              15 * time.Minute,
		IDNumberPerHour:             60,
		PasswordHashers:             runtime.NumCPU(),
		PasswordWait:                2 * time.Second,
		IdempotencyRetention:        24 * time.Hour,
		AttachmentsMaxBytes:         1 << 30,
		AttachmentsUnnamedRetention: 7 * 24 * time.Hour,
		RetentionYears:              15,
		ReminderDays:                []int{90, 30, 7},
		PasswordCost:                auth.DefaultPasswordCost,
		WitnessTimeout:              5 * time.Second,
	}
}

// withDefaults is cfg with DefaultConfig's value in each field it leaves zero.
func (cfg Config) withDefaults() Config {
	d := DefaultConfig()
	orDefault(&cfg.TokenTTL, d.TokenTTL)
	orDefault(&cfg.SimilarNames, d.SimilarNames)
	orDefault(&cfg.MaxResults, d.MaxResults)
	orDefault(&cfg.MaxAnswerBytes, d.MaxAnswerBytes)
	orDefault(&cfg.SignInFailures, d.SignInFailures)
	orDefault(&cfg.SignInMaxDelay, d.SignInMaxDelay)
	orDefault(&cfg.IDNumberPerHour, d.IDNumberPerHour)
	orDefault(&cfg.PasswordHashers, d.PasswordHashers)
	orDefault(&cfg.PasswordWait, d.PasswordWait)
	orDefault(&cfg.IdempotencyRetention, d.IdempotencyRetention)
	orDefault(&cfg.AttachmentsMaxBytes, d.AttachmentsMaxBytes)
	orDefault(&cfg.AttachmentsUnnamedRetention, d.AttachmentsUnnamedRetention)
	orDefault(&cfg.RetentionYears, d.RetentionYears)
	orDefault(&cfg.WitnessTimeout, d.WitnessTimeout)
	if cfg.PasswordCost == (auth.PasswordCost{}) {
		cfg.PasswordCost = d.PasswordCost
	}
	if len(cfg.ReminderDays) == 0 {
		cfg.ReminderDays = d.ReminderDays
	}
	if cfg.LogOrigin == "" && cfg.LogSigner != nil {
		cfg.LogOrigin = cfg.LogSigner.Name()
	}
	return cfg
}

// orDefault sets *v to def when it is zero or negative.
func orDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// NewService returns a Service over store; now is the registry's clock. The
// settings cfg leaves zero are DefaultConfig's.
func NewService(store Store, now func() time.Time, cfg Config) *Service {
	cfg = cfg.withDefaults()
	s := &Service{store: store, now: now, cfg: cfg,
		accountFailures: failures{backoff: &auth.Backoff{Free: cfg.SignInFailures, Base: time.Second, Max: cfg.SignInMaxDelay}, shared: cfg.SharedSignIn},
		addressFailures: failures{backoff: &auth.Backoff{Free: 4 * cfg.SignInFailures, Base: time.Second, Max: cfg.SignInMaxDelay}, shared: cfg.SharedSignIn},
		principals:      principals{ttl: cfg.PrincipalTTL},
		hashers:         make(chan struct{}, cfg.PasswordHashers),
		signUps:         &auth.Quota{N: cfg.SignUpsPerHour, Per: time.Hour},
		witnessed:       map[string]int64{},
		dummyHash:       auth.HashPasswordAt("a password that nobody has, to keep sign-in timing even", cfg.PasswordCost),
	}
	if cfg.AdminToken != "" {
		s.adminHash = auth.HashSecret(cfg.AdminToken)
	}
	return s
}

// Caller is the principal behind a request with where the request came from,
// as the audit trail records it.
type Caller struct {
	auth.Principal
	Source    string
	RequestID string
	// Idempotency is set when a creating request carries an Idempotency-Key.
	Idempotency *Idempotency
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func (s *Service) entry(c Caller, action auth.Action, target string, at time.Time) audit.Entry {
	return audit.Entry{
		At: at, Actor: actorKind(c.Principal), UserID: c.UserID, OrganizationID: c.OrganizationID,
		Action: string(action), Target: target, Outcome: audit.Success,
		Source: c.Source, RequestID: c.RequestID,
	}
}

func actorKind(p auth.Principal) audit.ActorKind {
	switch {
	case p.Bootstrap:
		return audit.BootstrapAdmin
	case p.Has(auth.System):
		return audit.System
	case p.UserID != "":
		return audit.UserActor
	}
	return audit.Anonymous
}

// Record writes an audit entry for an action that did not succeed; successful
// actions are recorded inside their own transaction.
func (s *Service) Record(ctx context.Context, c Caller, action auth.Action, target string, outcome audit.Outcome, detail string) error {
	e := s.entry(c, action, target, s.clock())
	e.Outcome = outcome
	e.Detail = detail
	return s.store.InsertAudit(ctx, e)
}

// Ready reports whether the store is reachable and migrated, and the log
// key configured is the one that signed the register (a *LogKeyMismatch
// when not).
func (s *Service) Ready(ctx context.Context) error {
	if m := s.keyMismatch.Load(); m != nil {
		return m
	}
	return s.store.Ping(ctx)
}

// Replicas reports the standbys that reads may go to.
func (s *Service) Replicas() []ReplicaState { return s.store.Replicas() }

// Sandbox reports whether this is a test register, whose pages and
// certificates must say so.
func (s *Service) Sandbox() bool { return s.cfg.Sandbox }

func allow(c Caller, a auth.Action) error {
	if !c.Can(a) {
		return Forbidden(c.Principal, a)
	}
	return nil
}

// Forbidden is the refusal of action a to p, which the permission table
// does not allow it: for an individual's account and an action no such
// account takes, a refusal that says so (and names no role to ask for).
func Forbidden(p auth.Principal, a auth.Action) error {
	if p.NotForIndividuals(a) {
		return NotForIndividuals(auth.IndividualsLimit(a))
	}
	return ErrForbidden
}

// individualsLimits say why an individual's account does not do what falls
// under each of auth's limits.
var individualsLimits = map[string]string{
	auth.NoWebhooks: "an individual's account has no webhooks: it searches, objects as a grantor, and is told of registrations that name it by its notices (and by email)",
	auth.NoUsers:    "an individual's account is the person alone: no other user is added to it, listed or suspended in it; the person reads its own account at GET /me and changes it by PATCH /users/{its id} (on the pages, My account)",
	auth.NoFiling:   "an individual's account may search the register and object, as a grantor, to registrations that name it, but not file or change registrations: the secured party (or its agent) files them, from an organization's account",
}

// NotForIndividuals is the refusal of what no individual's account does,
// under limit (auth.NoUsers, …), saying why.
func NotForIndividuals(limit string) error {
	return &Refusal{Kind: ErrForbidden, Individual: true, Limit: limit, Detail: individualsLimits[limit]}
}

// Authenticate turns a bearer token into a principal.
func (s *Service) Authenticate(ctx context.Context, token string) (auth.Principal, error) {
	if token == "" {
		return auth.Principal{}, ErrUnauthenticated
	}
	if s.adminHash != nil && auth.SameSecret(token, s.adminHash) {
		return auth.Principal{Roles: []auth.Role{auth.Admin}, Bootstrap: true, TokenID: "bootstrap"}, nil
	}
	hash, now := auth.HashSecret(token), s.clock()
	if p, ok := s.principals.get(hash, now); ok {
		return p, nil
	}
	p, err := s.store.TokenPrincipal(ctx, hash, now)
	if err == nil {
		s.principals.put(hash, p, now)
	}
	return p, err
}

// canonical encodes v as the registry's canonical JSON (fixed field order,
// no HTML escaping).
func canonical(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only our own plain structs are encoded
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")) // the buffer's own bytes: no copy
}

// crockford is Crockford's base32 alphabet: no I, L, O or U to misread.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newModificationCode returns a 100-bit random code in five groups of four.
func newModificationCode() string {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	var out strings.Builder
	for i, v := range b {
		if i > 0 && i%4 == 0 {
			out.WriteByte('-')
		}
		out.WriteByte(crockford[int(v)%32])
	}
	return out.String()
}

// normalizeModificationCode lets a code be typed in lower case or without
// hyphens.
func normalizeModificationCode(code string) string {
	code = strings.ToUpper(strings.TrimSpace(code))
	code = strings.ReplaceAll(code, " ", "")
	if !strings.Contains(code, "-") && len(code) == 20 {
		var b strings.Builder
		for i := 0; i < 20; i += 4 {
			if i > 0 {
				b.WriteByte('-')
			}
			b.WriteString(code[i : i+4])
		}
		code = b.String()
	}
	return code
}

// Page is one page of a list (docs/api.md).
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
	// after is the cursor of the page that starts after a given item, so
	// that the API can end a page early (its answer's size is bounded) and
	// still say where the rest begins. Every list sets it.
	after func(T) string
}

// A List is a page of a list as the API writes it: item by item, ending
// early when the answer would grow too large (docs/api.md, "Limits").
type List interface {
	Len() int
	Item(i int) any
	// CursorAfter is the next_cursor of the page ended after its first n
	// items (1 ≤ n ≤ Len()): the page's own when n is all of them, "" when
	// the list cannot be resumed mid-page.
	CursorAfter(n int) string
}

// Len is how many items the page holds.
func (p Page[T]) Len() int { return len(p.Items) }

// Item is the page's item i.
func (p Page[T]) Item(i int) any { return p.Items[i] }

// CursorAfter is the cursor of the items after the page's first n.
func (p Page[T]) CursorAfter(n int) string {
	if n >= len(p.Items) {
		return p.NextCursor
	}
	if p.after == nil {
		return ""
	}
	return p.after(p.Items[n-1])
}
