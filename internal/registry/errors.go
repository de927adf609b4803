package registry

import (
	"errors"
	"strings"
	"time"
)

// Sentinel errors of the domain; the HTTP layer maps each to a status and code.
var (
	ErrNotFound        = errors.New("not found")
	ErrConflict        = errors.New("conflict")
	ErrNotEffective    = errors.New("registration is not effective")
	ErrForbidden       = errors.New("forbidden")
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrVersionMismatch is a change whose If-Match names an older version.
	ErrVersionMismatch = errors.New("the registration has changed since the version given")
	// ErrExtensionWindowClosed is an extension before the window before expiry.
	ErrExtensionWindowClosed = errors.New("the extension window is not open")
	// ErrObjectionNotActive is a change to an objection that no longer stands.
	ErrObjectionNotActive = errors.New("the objection is no longer active")
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

// Field error codes (API.md, Conventions).
const (
	CodeInvalidField    = "invalid_field"
	CodeInvalidUSCC     = "invalid_uscc"
	CodeInvalidIDNumber = "invalid_id_number"
	CodeInvalidLEI      = "invalid_lei"
	CodeInvalidNumber   = "invalid_number"
)

// FieldError names one bad field by its path in the request (grantors[0].uscc).
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

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

func (p *problems) add(field, code, msg string) {
	p.errs = append(p.errs, FieldError{Field: field, Code: code, Message: msg})
}

func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	return &ValidationError{Errors: p.errs}
}

// Invalid returns a ValidationError for one field.
func Invalid(field, code, msg string) error {
	return &ValidationError{Errors: []FieldError{{Field: field, Code: code, Message: msg}}}
}

// ErrNoLogKey is returned when the registry was started without a key to
// sign checkpoints with.
var ErrNoLogKey = errors.New("the log has no signing key configured")

// ErrLogInconsistent is returned when the log no longer extends the last
// checkpoint signed: its history was rewritten underneath the registry.
var ErrLogInconsistent = errors.New("the log no longer extends its last signed checkpoint")
