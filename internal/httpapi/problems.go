package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/movable-registry/registry/internal/registry"
)

// Problem is an RFC 9457 problem document with the registry's stable code.
type Problem struct {
	Type      string                `json:"type"`
	Title     string                `json:"title"`
	Status    int                   `json:"status"`
	Code      string                `json:"code"`
	Detail    string                `json:"detail,omitempty"`
	Errors    []registry.FieldError `json:"errors,omitempty"`
	RequestID string                `json:"request_id,omitempty"`

	// retryAfter is sent as Retry-After with a 429 or 503.
	retryAfter time.Duration
}

func (p *Problem) Error() string { return p.Code + ": " + p.Detail }

func newProblem(status int, code, detail string) *Problem {
	return &Problem{Type: "urn:registry:problem:" + code, Title: http.StatusText(status), Status: status, Code: code, Detail: detail}
}

// errorTable is the one map from domain errors to HTTP statuses and codes.
var errorTable = []struct {
	err    error
	status int
	code   string
	detail string
}{
	{registry.ErrUnauthenticated, http.StatusUnauthorized, "unauthenticated", "a valid bearer token is required"},
	{registry.ErrForbidden, http.StatusForbidden, "forbidden", "this account may not do this"},
	{registry.ErrNotFound, http.StatusNotFound, "not_found", "nothing has this identifier"},
	{registry.ErrConflict, http.StatusConflict, "conflict", "this conflicts with what is already registered"},
	{registry.ErrNotEffective, http.StatusConflict, "registration_not_effective", "the registration is no longer effective"},
	{registry.ErrVersionMismatch, http.StatusPreconditionFailed, "version_mismatch", "the registration has changed since the version given in If-Match"},
	{registry.ErrExtensionWindowClosed, http.StatusConflict, "extension_window_closed", "the registration may not be extended yet"},
	{registry.ErrObjectionNotActive, http.StatusConflict, "objection_not_active", "the objection no longer stands"},
	{registry.ErrNoLogKey, http.StatusServiceUnavailable, "log_unavailable", "the log has no signing key configured"},
	{registry.ErrLogInconsistent, http.StatusServiceUnavailable, "log_inconsistent", "the log no longer extends its last signed checkpoint; the operator has been told"},
	{registry.ErrIdempotencyKeyReused, http.StatusUnprocessableEntity, "idempotency_key_reused", "this Idempotency-Key was used with another request"},
}

// ProblemFor maps any error to the problem a client sees, for the API and
// the web pages alike. An error the table does not know is the registry's
// own fault: a 500 without details.
func ProblemFor(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var limited *registry.RateLimitedError
	if errors.As(err, &limited) {
		p := newProblem(http.StatusTooManyRequests, "rate_limited", limited.Reason)
		p.retryAfter = limited.RetryAfter
		return p
	}
	var unavailable *registry.UnavailableError
	if errors.As(err, &unavailable) {
		p := newProblem(http.StatusServiceUnavailable, "unavailable", unavailable.Reason)
		p.retryAfter = unavailable.RetryAfter
		return p
	}
	var v *registry.ValidationError
	if errors.As(err, &v) {
		p := newProblem(http.StatusUnprocessableEntity, v.Code(), "the request is well-formed but some fields are invalid")
		p.Errors = v.Errors
		return p
	}
	for _, row := range errorTable {
		if errors.Is(err, row.err) {
			detail := row.detail
			// A refusal says why in its own words.
			var r *registry.Refusal
			if errors.As(err, &r) {
				detail = r.Detail
			}
			return newProblem(row.status, row.code, detail)
		}
	}
	return newProblem(http.StatusInternalServerError, "internal_error", "internal error")
}

// decodeError turns a JSON decoding failure into a 400 or 413 problem that
// names the field where it can.
func decodeError(err error) *Problem {
	var tooBig *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return newProblem(http.StatusRequestEntityTooLarge, "payload_too_large", fmt.Sprintf("the body is larger than %d bytes", tooBig.Limit))
	case errors.Is(err, io.EOF):
		return newProblem(http.StatusBadRequest, "malformed_request", "a JSON body is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return newProblem(http.StatusBadRequest, "malformed_request", "the JSON body ends too early")
	case errors.As(err, &syntax):
		return newProblem(http.StatusBadRequest, "malformed_request", fmt.Sprintf("the body is not valid JSON (at byte %d): %s", syntax.Offset, syntax.Error()))
	case errors.As(err, &typ):
		p := newProblem(http.StatusBadRequest, "malformed_request", fmt.Sprintf("%s must be %s, not %s", fieldName(typ.Field), jsonKind(typ.Type.Kind().String()), typ.Value))
		p.Errors = []registry.FieldError{{Field: fieldName(typ.Field), Code: "malformed_request", Message: p.Detail}}
		return p
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		p := newProblem(http.StatusBadRequest, "malformed_request", fmt.Sprintf("unknown field %q", name))
		p.Errors = []registry.FieldError{{Field: name, Code: "malformed_request", Message: "unknown field"}}
		return p
	}
	return newProblem(http.StatusBadRequest, "malformed_request", err.Error())
}

func fieldName(f string) string {
	if f == "" {
		return "(body)"
	}
	return f
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "of another type"
}
