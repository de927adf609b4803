package registry

import (
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/movable-registry/registry/internal/auth"
)

// prefixed adds a nested value's field errors under prefix.
func (p *problems) prefixed(prefix string, err error) {
	var v *ValidationError
	if errors.As(err, &v) {
		for _, f := range v.Errors {
			f.Field = prefix + f.Field
			p.errs = append(p.errs, f)
		}
	}
}

// Sentinel errors of the domain; the HTTP layer maps each to a status and code.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	// ErrQuotaExceeded is a change that would hold more than the
	// organization may (attachments.max_bytes of attachments).
	ErrQuotaExceeded   = errors.New("quota exceeded")
	ErrNotEffective    = errors.New("registration is not effective")
	ErrForbidden       = errors.New("forbidden")
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrVersionMismatch is a change whose If-Match names an older version.
	ErrVersionMismatch = errors.New("the registration has changed since the version given")
	// ErrExtensionWindowClosed is an extension before the window before expiry.
	ErrExtensionWindowClosed = errors.New("the extension window is not open")
	// ErrObjectionNotActive is a change to an objection that no longer stands.
	ErrObjectionNotActive = errors.New("the objection is no longer active")
	// ErrPasswordChangeRequired is a right password that the registry made:
	// it must be changed (POST /password) before it signs anyone in.
	ErrPasswordChangeRequired = errors.New("the password must be changed before the first sign-in")
	// ErrOrganizationPending, ErrOrganizationRejected and
	// ErrOrganizationSuspended are a right password whose organization
	// cannot act: only the password's holder learns which, and what comes
	// next (approval, a new sign-up, the registry's reinstatement).
	ErrOrganizationPending   = errors.New("the organization is awaiting the registry's approval")
	ErrOrganizationRejected  = errors.New("the organization's sign-up was rejected")
	ErrOrganizationSuspended = errors.New("the organization is suspended")
	// ErrIdempotencyKeyReused is an Idempotency-Key sent again with another request.
	ErrIdempotencyKeyReused = errors.New("the idempotency key was used for another request")
)

// RateLimitedError is a request refused because its caller asked too often,
// or failed to sign in too often; it may come back after RetryAfter.
type RateLimitedError struct {
	RetryAfter time.Duration
	Reason     string
}

func (e *RateLimitedError) Error() string { return e.Reason }

// UnavailableError is a request the registry cannot take now, through no
// fault of the caller (too many at once, the database away); it may be sent
// again after RetryAfter.
type UnavailableError struct {
	RetryAfter time.Duration
	Reason     string
}

func (e *UnavailableError) Error() string { return e.Reason }

// Field error codes (docs/api.md).
const (
	CodeInvalidField    = "invalid_field"
	CodeInvalidUSCC     = "invalid_uscc"
	CodeInvalidIDNumber = "invalid_id_number"
	CodeInvalidLEI      = "invalid_lei"
	CodeInvalidNumber   = "invalid_number"
)

// FieldError names one bad field by its path in the request (grantors[0].uscc),
// with the rule it broke and that rule's argument, so that a client (and the
// web pages) can say it in its own words: {"field": "name", "code":
// "invalid_field", "message": "is longer than 200 characters", "rule":
// "too_long", "max": 200}. Message is the English text.
type FieldError struct {
	Field   string
	Code    string
	Message string
	// Rule is empty for a message that has no rule of its own.
	Rule Rule
	// Arg is the rule's one argument, named ArgName in JSON (none when
	// ArgName is empty).
	ArgName string
	Arg     any
}

// MarshalJSON writes the field error with its rule's argument beside the
// rule, as the API's problem documents show it (docs/api.md, FieldError).
func (f FieldError) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"field":`)
	for i, v := range []any{f.Field, f.Code, f.Message} {
		if i > 0 {
			b.WriteString([]string{"", `,"code":`, `,"message":`}[i])
		}
		j, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		b.Write(j)
	}
	if f.Rule != "" {
		b.WriteString(`,"rule":"` + string(f.Rule) + `"`)
		if f.ArgName != "" {
			name, _ := json.Marshal(f.ArgName)
			arg, err := json.Marshal(f.Arg)
			if err != nil {
				return nil, err
			}
			b.WriteString(",")
			b.Write(name)
			b.WriteString(":")
			b.Write(arg)
		}
	}
	b.WriteString("}")
	return b.Bytes(), nil
}

// UnmarshalJSON reads what MarshalJSON writes (clients of the registry,
// such as registryctl, read problems).
func (f *FieldError) UnmarshalJSON(data []byte) error {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	str := func(k string) string { s, _ := m[k].(string); delete(m, k); return s }
	f.Field, f.Code, f.Message, f.Rule = str("field"), str("code"), str("message"), Rule(str("rule"))
	for k, v := range m {
		f.ArgName, f.Arg = k, v
	}
	return nil
}

// Rule names a rule of the register's input that a field can break. The web
// pages translate a field error by its rule (field.<rule> in their
// catalogs), with its argument.
type Rule string

// The rules a field error can name.
const (
	RuleRequired        Rule = "required"
	RuleAtLeastOne      Rule = "at_least_one"
	RuleAtMost          Rule = "at_most"    // max
	RuleTooLong         Rule = "too_long"   // max
	RulePeriod          Rule = "period"     // max
	RuleNotOneOf        Rule = "not_one_of" // value
	RuleCurrency        Rule = "currency"   // value
	RuleCountry         Rule = "country"    // value
	RuleAmount          Rule = "amount"
	RulePositive        Rule = "positive"
	RuleLettersOrDigits Rule = "letters_or_digits"
	RuleDate            Rule = "date"
	RuleFuture          Rule = "future"
	RulePasswordShort   Rule = "password_short" // min
	RuleEmail           Rule = "email"
	RuleControl         Rule = "control"
	RuleBidi            Rule = "bidi"
	RuleNotUTF8         Rule = "not_utf8"
	RuleStaffRole       Rule = "staff_role"
	RuleUSCCOrForeign   Rule = "uscc_or_foreign"
	RuleIndividualID    Rule = "individual_id"
	RuleOrganizationID  Rule = "organization_id"
	RuleDomesticCountry Rule = "domestic_country"
	RuleDomesticUSCC    Rule = "domestic_uscc"
	RuleForeignOnly     Rule = "foreign_only"
	RuleOneCriterion    Rule = "one_criterion"
	RuleChangesNothing  Rule = "changes_nothing"
	RuleRepeats         Rule = "repeats"
	RuleItemID          Rule = "item_id"
	RuleItemRegistered  Rule = "item_registered"
	RuleNotGrantor      Rule = "not_grantor"
	RuleAlreadyGrantor  Rule = "already_grantor"
	RuleLastGrantor     Rule = "last_grantor"
	RuleNotWatched      Rule = "not_watched"
)

// Rules lists every rule, for those who translate them.
var Rules = []Rule{RuleRequired, RuleAtLeastOne, RuleAtMost, RuleTooLong, RulePeriod, RuleNotOneOf, RuleCurrency, RuleCountry, RuleAmount, RulePositive, RuleLettersOrDigits, RuleDate, RuleFuture, RulePasswordShort, RuleEmail, RuleControl, RuleBidi, RuleNotUTF8, RuleStaffRole, RuleUSCCOrForeign, RuleIndividualID, RuleOrganizationID, RuleDomesticCountry, RuleDomesticUSCC, RuleForeignOnly, RuleOneCriterion, RuleChangesNothing, RuleRepeats, RuleItemID, RuleItemRegistered, RuleNotGrantor, RuleAlreadyGrantor, RuleLastGrantor, RuleNotWatched}

// ValidationError is well-formed input whose content is wrong, one entry per field.
type ValidationError struct {
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid input: ")
	for i, f := range e.Errors {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Field + ": " + f.Message)
	}
	return b.String()
}

// Code is the most specific code that applies to the whole error: the fields'
// common code, or invalid_field when they differ.
func (e *ValidationError) Code() string {
	if len(e.Errors) == 0 {
		return CodeInvalidField
	}
	c := e.Errors[0].Code
	for _, f := range e.Errors[1:] {
		if f.Code != c {
			return CodeInvalidField
		}
	}
	return c
}

// problems collects field errors while a request is checked.
type problems struct{ errs []FieldError }

// add records a field error that has no rule of its own.
func (p *problems) add(field, code, msg string) {
	p.errs = append(p.errs, FieldError{Field: field, Code: code, Message: msg})
}

// broke records a field error by the rule it broke; arg, when given, is the
// rule's one argument as a name and a value.
func (p *problems) broke(field string, r Rule, msg string, arg ...any) {
	p.errs = append(p.errs, Broken(field, r, msg, arg...))
}

// Broken is the field error of a field that broke rule r; arg, when given,
// is the rule's one argument as a name and a value.
func Broken(field string, r Rule, msg string, arg ...any) FieldError {
	fe := FieldError{Field: field, Code: CodeInvalidField, Message: msg, Rule: r}
	if len(arg) == 2 {
		fe.ArgName, fe.Arg = arg[0].(string), arg[1]
	}
	return fe
}

// Broke returns a ValidationError for one field that broke rule r.
func Broke(field string, r Rule, msg string, arg ...any) error {
	return &ValidationError{Errors: []FieldError{Broken(field, r, msg, arg...)}}
}

func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	return &ValidationError{Errors: p.errs}
}

// Refusal is a refusal of a known kind (ErrConflict, ErrForbidden, …) with
// the words that say why; the problem's detail is Detail.
type Refusal struct {
	Kind   error
	Detail string
	// Roles, when set, are the roles any one of which would have allowed
	// what was refused, so that a page can say which to ask for.
	Roles []auth.Role
}

func (e *Refusal) Error() string { return e.Kind.Error() + ": " + e.Detail }

func (e *Refusal) Unwrap() error { return e.Kind }

// ErrWrongCredentials is a sign-in (or a password change) whose email and
// password do not match: ErrUnauthenticated, saying so. It never says which
// of the two is wrong, nor whether the email is anyone's.
var ErrWrongCredentials error = &Refusal{Kind: ErrUnauthenticated, Detail: "the email or password is wrong"}

// ExtensionTooEarlyError is an extension asked for before the window before
// expiry opens: it says when the window opens, so that a page can tell the
// user when to come back. It is ErrExtensionWindowClosed.
type ExtensionTooEarlyError struct {
	// Opens is when the registration may first be extended.
	Opens Time
	// Days is the window's length before expiry.
	Days int
}

func (e *ExtensionTooEarlyError) Error() string { return e.refusal().Error() }

func (e *ExtensionTooEarlyError) Unwrap() error { return e.refusal() }

func (e *ExtensionTooEarlyError) refusal() *Refusal {
	return &Refusal{Kind: ErrExtensionWindowClosed, Detail: fmt.Sprintf(
		"a registration may be extended only in the last %d days before it expires; this one's window opens at %s",
		e.Days, e.Opens.UTC().Format(time.RFC3339Nano))}
}

// refused is a refusal of kind, with detail saying why.
func refused(kind error, detail string) error { return &Refusal{Kind: kind, Detail: detail} }

// Invalid returns a ValidationError for one field.
func Invalid(field, code, msg string) error {
	return &ValidationError{Errors: []FieldError{{Field: field, Code: code, Message: msg}}}
}

// ErrNoLogKey is returned when the registry was started without a key to
// sign checkpoints with.
var ErrNoLogKey = errors.New("the log has no signing key configured")

// ErrLogKeyMismatch is returned when the register's latest checkpoint was
// signed by another log key than the one configured (and than the previous
// one, during a rotation): registryd was started with the wrong key, or a
// key was replaced without a rotation. Nothing is signed until it is fixed.
var ErrLogKeyMismatch = errors.New("the configured log key did not sign the register's checkpoints")

// LogKeyMismatch says which keys signed the register's latest checkpoint
// and which are configured.
type LogKeyMismatch struct {
	// Size is the latest stored checkpoint's.
	Size int64
	// Signed lists the keys ("name+hash") whose signatures it carries;
	// Configured the configured key and, during a rotation, the previous one.
	Signed     []string
	Configured []string
}

func (e *LogKeyMismatch) Error() string {
	signed := "no readable signature"
	if len(e.Signed) > 0 {
		signed = "the key " + strings.Join(e.Signed, " and ")
	}
	return fmt.Sprintf("the register's latest checkpoint (of %d events) is signed by %s, but registryd is configured with %s: "+
		"start it with the key that signed the register, or rotate deliberately by setting log.previous_key_file to that key beside the new one (docs/keys.md); "+
		"no checkpoint is signed until then", e.Size, signed, strings.Join(e.Configured, " and "))
}

// Is makes a LogKeyMismatch an ErrLogKeyMismatch.
func (e *LogKeyMismatch) Is(target error) bool { return target == ErrLogKeyMismatch }

// ErrLogInconsistent is returned when the log no longer extends the last
// checkpoint signed: its history was rewritten underneath the registry.
var ErrLogInconsistent = errors.New("the log no longer extends its last signed checkpoint")

// Unavailable reports whether err means that the database could not be
// reached or would not take the work just now: a connection refused, reset
// or lost mid-answer, a server shutting down, starting or in recovery, too
// many connections, a standby that refuses writes (a failover under way),
// or the statement timeout or the request's own deadline passing. Such a request
// changed nothing unless its answer said so, and may be sent again (with
// the same Idempotency-Key); it is answered 503, not 500.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var u *UnavailableError
	if errors.As(err, &u) {
		return true
	}
	var state interface{ SQLState() string }
	if errors.As(err, &state) {
		switch code := state.SQLState(); {
		case strings.HasPrefix(code, "08"), // connection exception
			code == "57P01", code == "57P02", code == "57P03", // admin or crash shutdown, cannot connect now
			code == "53300", // too many connections
			code == "25006", // read-only transaction: a standby
			code == "57014": // canceled: the statement timeout or the request's deadline
			return true
		}
		return false
	}
	// A driver's error that says the statement never reached the server
	// (pgconn's closed or busy connection).
	var retry interface{ SafeToRetry() bool }
	if errors.As(err, &retry) && retry.SafeToRetry() {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) || deadline(err) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}

// deadline says the request's context ended: its deadline passed, or its
// client went away (who then hears nothing).
func deadline(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
