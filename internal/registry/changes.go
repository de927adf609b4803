package registry

import (
	"context"
	"errors"
	"slices"
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

// checkVersion compares an If-Match header (which validate has found
// well-formed) with the registration's version: one of its tags must name it.
func checkVersion(ifMatch string, version int) error {
	versions, anyVersion, _ := ifMatchVersions(ifMatch)
	if anyVersion || slices.Contains(versions, version) {
		return nil
	}
	return refused(ErrVersionMismatch, "the registration is at version "+strconv.Itoa(version)+"; read it again before changing it")
}

// ifMatchVersions reads an If-Match header: absent or * matches any
// version (anyVersion); else each of its comma-separated tags is a version, as
// the ETag gives it ("3"), weak (W/"3") or without its quotes (3). ok is
// false when a tag is not a version at all.
func ifMatchVersions(h string) (versions []int, anyVersion, ok bool) {
	h = strings.TrimSpace(h)
	if h == "" || h == "*" {
		return nil, true, true
	}
	for _, tag := range strings.Split(h, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "" {
			continue // an empty element of a list, which HTTP allows
		}
		if strings.HasPrefix(tag, `"`) {
			if len(tag) < 2 || !strings.HasSuffix(tag, `"`) {
				return nil, false, false
			}
			tag = tag[1 : len(tag)-1]
		}
		if tag == "" || len(tag) > 9 || strings.Trim(tag, "0123456789") != "" {
			return nil, false, false
		}
		v, _ := strconv.Atoi(tag)
		versions = append(versions, v)
	}
	return versions, false, len(versions) > 0
}

// Validate checks what a change presents besides its body: an If-Match
// that is not an ETag at all (abc) is bad input, not a stale version.
func (p Precondition) Validate() error {
	if _, _, ok := ifMatchVersions(p.IfMatch); !ok {
		return Invalid("If-Match", CodeInvalidField, `is not an ETag this API gives: send the ETag last read (a version, as "3"), several separated by commas, or *`)
	}
	return nil
}

// Precondition is what a change presents besides its body: the modification
// code of a non-controller, and the version it expects (If-Match).
type Precondition struct {
	ModificationCode string
	IfMatch          string
}
