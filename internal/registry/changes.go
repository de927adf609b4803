package registry

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/identifiers"
)

func checkNumber(field, number string) error {
	if err := identifiers.CheckNumber(number); err != nil {
		return Invalid(field, CodeInvalidNumber, err.Error())
	}
	return nil
}

// change runs one event against an existing registration in the sequencer:
// it locks the registration, replays it as it stands at the event's instant,
// lets decide check the rules and say what to record, and commits.
func (s *Service) change(ctx context.Context, c Caller, action auth.Action, number string,
	decide func(tx Tx, st Stamp, cur Registration, state RegistrationState) (typ string, data any, err error)) (Registration, error) {
	if err := allow(c, action); err != nil {
		return Registration{}, err
	}
	if err := checkNumber("number", number); err != nil {
		return Registration{}, err
	}
	var reg Registration
	err := s.store.Sequence(ctx, StampEvent, func(tx Tx, st Stamp) error {
		return s.once(ctx, tx, c, st.At, &reg, func() error {
			state, err := tx.LockRegistration(ctx, number)
			if err != nil {
				return err
			}
			regs, err := s.load(ctx, tx, []string{state.Number}, st.At)
			if err != nil {
				return err
			}
			if len(regs) != 1 {
				return ErrNotFound
			}
			cur := finish(regs[0], st.At)
			typ, data, err := decide(tx, st, cur, state)
			if err != nil {
				return err
			}
			reg, err = s.recordEvent(ctx, tx, c, st, action, cur, typ, data, nil)
			return err
		})
	})
	return shown(c, reg), replayed(err)
}

// isController reports whether the caller acts for the registration's
// controller. A registration assigned to an organization that had no account
// then is controlled by whichever account holds that USCC now.
// Controls reports whether c may change r as its controller, without its
// modification code: a registrant of the controlling organization, also
// when control passed to that organization by its USCC before it had an
// account.
func (s *Service) Controls(ctx context.Context, c Caller, r Registration) (bool, error) {
	if !c.Has(auth.Registrant) {
		return false, nil
	}
	return isController(ctx, s.store, c, r)
}

func isController(ctx context.Context, tx Tx, c Caller, cur Registration) (bool, error) {
	switch {
	case c.OrganizationID == "":
		return false, nil
	case cur.Controller.OrganizationID != "":
		return c.OrganizationID == cur.Controller.OrganizationID, nil
	case cur.Controller.USCC == "":
		return false, nil
	case c.OrganizationUSCC != "":
		// The token names the caller's organization's USCC, which never
		// changes: no read is needed.
		return c.OrganizationUSCC == cur.Controller.USCC, nil
	}
	o, err := tx.Organization(ctx, c.OrganizationID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil && o.USCC == cur.Controller.USCC, err
}

// mayChange is the object-level rule for amending, extending and cancelling:
// the controller, or the holder of the modification code; then the version
// the caller expects, then whether the registration is still effective.
func mayChange(ctx context.Context, tx Tx, c Caller, cur Registration, state RegistrationState, pre Precondition) error {
	if pre.ModificationCode != "" {
		if !auth.SameSecret(normalizeModificationCode(pre.ModificationCode), state.ModificationCodeHash) {
			return refused(ErrForbidden, "the modification code is wrong or no longer valid")
		}
	} else if ok, err := isController(ctx, tx, c, cur); err != nil {
		return err
	} else if !ok {
		return refused(ErrForbidden, "only the controller, or a holder of the modification code, may change this registration")
	}
	if err := checkVersion(pre.IfMatch, cur.Version); err != nil {
		return err
	}
	if cur.Status != StatusEffective {
		return ErrNotEffective
	}
	return nil
}

// checkVersion compares an If-Match header with the registration's version
// (its ETag is the version in quotes).
func checkVersion(ifMatch string, version int) error {
	ifMatch = strings.TrimSpace(ifMatch)
	if ifMatch == "" || ifMatch == "*" {
		return nil
	}
	want := strconv.Itoa(version)
	for _, tag := range strings.Split(ifMatch, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if strings.Trim(tag, `"`) == want {
			return nil
		}
	}
	return refused(ErrVersionMismatch, "the registration is at version "+want+"; read it again before changing it")
}

// Precondition is what a change presents besides its body: the modification
// code of a non-controller, and the version it expects (If-Match).
type Precondition struct {
	ModificationCode string
	IfMatch          string
}
