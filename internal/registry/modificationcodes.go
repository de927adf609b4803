package registry

import (
	"context"

	"github.com/movable-registry/registry/internal/auth"
)

// RotateModificationCode issues the registration a new modification code; the
// old one stops working. Only the controller may. It is not a registry event
// (the code is a credential, not part of the register), but it is audited.
func (s *Service) RotateModificationCode(ctx context.Context, c Caller, number string) (ModificationCode, error) {
	if err := allow(c, auth.RotateModificationCode); err != nil {
		return ModificationCode{}, err
	}
	if err := checkNumber("number", number); err != nil {
		return ModificationCode{}, err
	}
	var out ModificationCode
	at := s.clock()
	err := s.store.InTx(ctx, func(tx Tx) error {
		return s.once(ctx, tx, c, at, &out, func() error {
			state, err := tx.LockRegistration(ctx, number)
			if err != nil {
				return err
			}
			regs, err := s.load(ctx, tx, []string{state.Number}, farFuture)
			if err != nil {
				return err
			}
			if len(regs) != 1 {
				return ErrNotFound
			}
			cur := finish(regs[0], at)
			if ok, err := isController(ctx, tx, c, cur); err != nil {
				return err
			} else if !ok {
				return refused(ErrForbidden, "only the controller may rotate the modification code")
			}
			if cur.Status != StatusEffective {
				return ErrNotEffective
			}
			out.ModificationCode = newModificationCode()
			if err := tx.SetModificationCode(ctx, state.Number, auth.HashSecret(out.ModificationCode)); err != nil {
				return err
			}
			return tx.InsertAudit(ctx, s.entry(c, auth.RotateModificationCode, state.Number, at))
		})
	})
	return out, replayed(err)
}

// ModificationCode is a newly issued modification code, shown once.
type ModificationCode struct {
	ModificationCode string `json:"modification_code"`
}
