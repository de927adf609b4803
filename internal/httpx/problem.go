// Package httpx holds what the API and the web pages share over HTTP: the
// problem table (which domain error is which status), the recording of
// refusals in the audit trail, the audit trail as CSV, and the handler in
// front of both that gives every request its id, its client's address, the
// limit per address, the security headers and the metrics.
package httpx

import (
	"errors"
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
	RequestID string                `json:"request_id"`

	// RetryAfter is sent as Retry-After with a 429 or 503.
	RetryAfter time.Duration `json:"-"`
}

func (p *Problem) Error() string { return p.Code + ": " + p.Detail }

// NewProblem is a problem of status with the registry's stable code.
func NewProblem(status int, code, detail string) *Problem {
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
	{registry.ErrPasswordChangeRequired, http.StatusForbidden, "password_change_required", "this password was made by the registry: change it (POST /password) before signing in"},
	{registry.ErrOrganizationPending, http.StatusForbidden, "organization_pending", "the organization is awaiting the registry's approval: its users sign in once an admin approves it"},
	{registry.ErrOrganizationRejected, http.StatusForbidden, "organization_rejected", "the organization's sign-up was rejected: nobody in it signs in; its USCC and emails are free for a new sign-up"},
	{registry.ErrOrganizationSuspended, http.StatusForbidden, "organization_suspended", "the organization is suspended: nobody in it signs in until the registry reinstates it"},
	{registry.ErrForbidden, http.StatusForbidden, "forbidden", "this account may not do this"},
	{registry.ErrNotFound, http.StatusNotFound, "not_found", "nothing has this identifier"},
	{registry.ErrConflict, http.StatusConflict, "conflict", "this conflicts with what is already registered"},
	{registry.ErrQuotaExceeded, http.StatusConflict, "quota_exceeded", "the organization holds as much as it may: remove or wait for the removal of what it does not need"},
	{registry.ErrNotEffective, http.StatusConflict, "registration_not_effective", "the registration is no longer effective"},
	{registry.ErrVersionMismatch, http.StatusPreconditionFailed, "version_mismatch", "the registration has changed since the version given in If-Match"},
	{registry.ErrExtensionWindowClosed, http.StatusConflict, "extension_window_closed", "the registration may not be extended yet"},
	{registry.ErrObjectionNotActive, http.StatusConflict, "objection_not_active", "the objection no longer stands"},
	{registry.ErrNoLogKey, http.StatusServiceUnavailable, "log_unavailable", "the log has no signing key configured"},
	{registry.ErrLogKeyMismatch, http.StatusServiceUnavailable, "log_key_mismatch", "this instance was started with another log key than the one that signed the register's checkpoints; the operator has been told"},
	{registry.ErrLogInconsistent, http.StatusServiceUnavailable, "log_inconsistent", "the log no longer extends its last signed checkpoint; the operator has been told"},
	{registry.ErrEntryTooLarge, http.StatusUnprocessableEntity, "entry_too_large", "an entry of this bundle is longer than the 65,535 bytes a bundle's length field holds: read these entries from /log/entries"},
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
		p := NewProblem(http.StatusTooManyRequests, "rate_limited", limited.Reason)
		p.RetryAfter = limited.RetryAfter
		return p
	}
	var unavailable *registry.UnavailableError
	if errors.As(err, &unavailable) {
		p := NewProblem(http.StatusServiceUnavailable, "unavailable", unavailable.Reason)
		p.RetryAfter = unavailable.RetryAfter
		return p
	}
	var v *registry.ValidationError
	if errors.As(err, &v) {
		p := NewProblem(http.StatusUnprocessableEntity, v.Code(), "the request is well-formed but some fields are invalid")
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
			p := NewProblem(row.status, row.code, detail)
			if r != nil && r.Field != "" {
				code := registry.CodeInvalidField
				if row.status == http.StatusConflict {
					code = registry.CodeConflict
				}
				p.Errors = []registry.FieldError{{Field: r.Field, Code: code, Message: detail}}
			}
			return p
		}
	}
	if registry.Unavailable(err) {
		p := NewProblem(http.StatusServiceUnavailable, "unavailable",
			"the register's database cannot take this request just now; send it again shortly (with the same Idempotency-Key, for a change)")
		p.RetryAfter = 2 * time.Second
		return p
	}
	return NewProblem(http.StatusInternalServerError, "internal_error", "internal error")
}

// SignInTarget is what a refused sign-in is audited under: the email asked
// for, as accounts store it, so that guessing against one account shows in
// the trail whether it came through the API or the pages. Text that cannot
// be an email is not recorded.
func SignInTarget(email string) string {
	if !strings.Contains(email, "@") || len(email) > 254 {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(email))
}
