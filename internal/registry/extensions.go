package registry

import (
	"context"
	"fmt"

	"github.com/movable-registry/registry/internal/auth"
)

// Extend adds months to a registration's expiry, within the window before it.
func (s *Service) Extend(ctx context.Context, c Caller, number string, pre Precondition, e Extension) (Registration, error) {
	if err := allow(c, auth.ExtendRegistration); err != nil {
		return Registration{}, err
	}
	if err := e.Validate(); err != nil {
		return Registration{}, err
	}
	if err := pre.Validate(); err != nil {
		return Registration{}, err
	}
	return s.change(ctx, c, auth.ExtendRegistration, number, func(tx Tx, st Stamp, cur Registration, state RegistrationState) (string, any, error) {
		if err := mayChange(ctx, tx, c, cur, state, pre); err != nil {
			return "", nil, err
		}
		if days := s.cfg.ExtensionWindowDays; days > 0 {
			opens := cur.ExpiresAt.In(Shanghai).AddDate(0, 0, -days).UTC()
			if st.At.Before(opens) {
				return "", nil, &ExtensionTooEarlyError{Opens: At(opens), Days: days}
			}
		}
		return EventExtension, extensionData{PeriodMonths: e.PeriodMonths, ExpiresAt: At(AddMonths(cur.ExpiresAt.Time, e.PeriodMonths))}, nil
	})
}

// Extension adds months to a registration's expiry.
type Extension struct {
	PeriodMonths int `json:"period_months"`
}

// Validate checks an extension.
func (e Extension) Validate() error {
	if e.PeriodMonths < 1 || e.PeriodMonths > maxPeriod {
		return BrokeMax("period_months", RulePeriod, fmt.Sprintf("must be a whole number of months from 1 to %d", maxPeriod), maxPeriod)
	}
	return nil
}
