package registry

import (
	"context"

	"github.com/movable-registry/registry/internal/auth"
)

// Cancel releases a registration. The controller's registrants may cancel, and
// so may any registrant presenting the registration's modification code.
func (s *Service) Cancel(ctx context.Context, c Caller, number string, pre Precondition, req Cancellation) (Registration, error) {
	if err := req.Validate(); err != nil {
		return Registration{}, err
	}
	if err := pre.Validate(); err != nil {
		return Registration{}, err
	}
	return s.change(ctx, c, auth.CancelRegistration, number, func(tx Tx, _ Stamp, cur Registration, state RegistrationState) (string, any, error) {
		if err := mayChange(ctx, tx, c, cur, state, pre); err != nil {
			return "", nil, err
		}
		return EventCancellation, cancellationData(req), nil
	})
}

// CancellationReasons are the reasons a registration may be cancelled for.
var CancellationReasons = []string{"debt_repaid", "security_realised", "security_waived", "other"}

// Cancellation is a request to release a registration.
type Cancellation struct {
	Reason string `json:"reason"`
	Note   string `json:"note,omitempty"`
}

// Validate checks a cancellation.
func (c *Cancellation) Validate() error {
	var p problems
	checkEnum(&p, "reason", c.Reason, CancellationReasons)
	c.Note = checkText(&p, "note", c.Note, false, maxText)
	return p.err()
}
