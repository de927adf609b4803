package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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
	// CodeConflict is a field whose value is already another's (a USCC or
	// identity number that has an account), in a 409.
	CodeConflict = "conflict"
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
	// RuleAgreedWithGrantor is a filing without the filer's declaration
	// that the grantor agreed to its content (agreed_with_grantor: true).
	RuleAgreedWithGrantor Rule = "agreed_with_grantor"
	RuleOneChange         Rule = "one_change"
)

// Rules lists every rule, for those who translate them.
var Rules = []Rule{RuleRequired, RuleAtLeastOne, RuleAtMost, RuleTooLong, RulePeriod, RuleNotOneOf, RuleCurrency, RuleCountry, RuleAmount, RulePositive, RuleLettersOrDigits, RuleDate, RuleFuture, RulePasswordShort, RuleEmail, RuleControl, RuleBidi, RuleNotUTF8, RuleStaffRole, RuleUSCCOrForeign, RuleIndividualID, RuleOrganizationID, RuleDomesticCountry, RuleDomesticUSCC, RuleForeignOnly, RuleOneCriterion, RuleChangesNothing, RuleRepeats, RuleItemID, RuleItemRegistered, RuleNotGrantor, RuleAlreadyGrantor, RuleLastGrantor, RuleNotWatched, RuleAgreedWithGrantor, RuleOneChange}

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

// broke records a field error by the rule it broke, a rule without an
// argument.
func (p *problems) broke(field string, r Rule, msg string) {
	p.errs = append(p.errs, Broken(field, r, msg))
}

// brokeMax records a field error by a rule whose argument is a maximum.
func (p *problems) brokeMax(field string, r Rule, msg string, max int) {
	p.errs = append(p.errs, BrokenMax(field, r, msg, max))
}

// brokeMin records a field error by a rule whose argument is a minimum.
func (p *problems) brokeMin(field string, r Rule, msg string, min int) {
	p.errs = append(p.errs, BrokenMin(field, r, msg, min))
}

// brokeValue records a field error by a rule whose argument is the value
// refused.
func (p *problems) brokeValue(field string, r Rule, msg, value string) {
	p.errs = append(p.errs, BrokenValue(field, r, msg, value))
}

// brokeAllowed records a field error by a rule whose argument is the list
// of values allowed.
func (p *problems) brokeAllowed(field string, r Rule, msg string, allowed []string) {
	p.errs = append(p.errs, BrokenAllowed(field, r, msg, allowed))
}

// The rules' arguments, as FieldError.ArgName names them in JSON.
const (
	argMax     = "max"
	argMin     = "min"
	argValue   = "value"
	argAllowed = "allowed"
)

// Broken is the field error of a field that broke rule r, a rule without
// an argument (RuleRequired, RuleEmail, …).
func Broken(field string, r Rule, msg string) FieldError {
	return FieldError{Field: field, Code: CodeInvalidField, Message: msg, Rule: r}
}

// BrokenMax is the field error of a field that broke rule r, whose argument
// is the maximum allowed (RuleAtMost, RuleTooLong, RulePeriod).
func BrokenMax(field string, r Rule, msg string, max int) FieldError {
	fe := Broken(field, r, msg)
	fe.ArgName, fe.Arg = argMax, max
	return fe
}

// BrokenMin is the field error of a field that broke rule r, whose argument
// is the minimum allowed (RulePasswordShort).
func BrokenMin(field string, r Rule, msg string, min int) FieldError {
	fe := Broken(field, r, msg)
	fe.ArgName, fe.Arg = argMin, min
	return fe
}

// BrokenValue is the field error of a field that broke rule r, whose
// argument is the value refused (RuleNotOneOf, RuleCurrency, RuleCountry).
func BrokenValue(field string, r Rule, msg, value string) FieldError {
	fe := Broken(field, r, msg)
	fe.ArgName, fe.Arg = argValue, value
	return fe
}

// BrokenAllowed is the field error of a field that broke rule r, whose
// argument is the list of values allowed (RuleNotOneOf, where the value
// refused is not worth repeating).
func BrokenAllowed(field string, r Rule, msg string, allowed []string) FieldError {
	fe := Broken(field, r, msg)
	fe.ArgName, fe.Arg = argAllowed, allowed
	return fe
}

// Broke returns a ValidationError for one field that broke rule r, a rule
// without an argument.
func Broke(field string, r Rule, msg string) error { return one(Broken(field, r, msg)) }

// BrokeMax returns a ValidationError for one field that broke rule r,
// whose argument is the maximum allowed.
func BrokeMax(field string, r Rule, msg string, max int) error {
	return one(BrokenMax(field, r, msg, max))
}

// BrokeValue returns a ValidationError for one field that broke rule r,
// whose argument is the value refused.
func BrokeValue(field string, r Rule, msg, value string) error {
	return one(BrokenValue(field, r, msg, value))
}

// one is a ValidationError of one field error.
func one(fe FieldError) error { return &ValidationError{Errors: []FieldError{fe}} }

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
	// Field, when set, is the field of the request that the refusal is
	// about (the USCC that another account holds), named in the problem.
	Field string
	// Roles, when set, are the roles any one of which would have allowed
	// what was refused, so that a page can say which to ask for.
	Roles []auth.Role
	// Individual is set when what was refused is something no
	// individual's account does, whatever its roles (auth.Principal's
	// NotForIndividuals): a page says so, not which role to ask for.
	Individual bool
	// Limit, with Individual, is the limit what was refused falls under
	// (auth.NoUsers, auth.NoFiling, auth.NoWebhooks).
	Limit string
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

// ErrStoreUnavailable is the store that could not be reached or would not
// take the work just now: the database away, restarting, failing over to a
// standby, out of connections, or a statement past its time. The store wraps
// the driver's error in it; what it says in the driver's terms stays the
// store's business.
var ErrStoreUnavailable = errors.New("the register's database cannot take this request just now")

// Unavailable reports whether err means that the registry could not take
// the work just now through no fault of the request: an *UnavailableError,
// the store unavailable (ErrStoreUnavailable), or the request's own deadline
// passing. Such a request changed nothing unless its answer said so, and may
// be sent again (with the same Idempotency-Key); it is answered 503, not 500.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var u *UnavailableError
	return errors.As(err, &u) || errors.Is(err, ErrStoreUnavailable) || deadline(err)
}

// deadline says the request's context ended: its deadline passed, or its
// client went away (who then hears nothing).
func deadline(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
