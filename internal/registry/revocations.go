package registry

import (
	"context"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/identifiers"
)

// Revoke revokes a registration, or only one of its objections, on the
// authority of an effective judgment, ruling or award (admins).
func (s *Service) Revoke(ctx context.Context, c Caller, number string, req Revocation) (Registration, error) {
	if err := allow(c, auth.Revoke); err != nil {
		return Registration{}, err
	}
	if err := req.Validate(); err != nil {
		return Registration{}, err
	}
	return s.change(ctx, c, auth.Revoke, number, func(tx Tx, st Stamp, cur Registration, _ RegistrationState) (string, any, error) {
		typ := EventRevocation
		if req.Objection != "" {
			typ = EventObjectionRevocation
			o := cur.objection(req.Objection)
			if o == nil {
				return "", nil, Invalid("objection", CodeInvalidField, "is not an objection to this registration")
			}
			if o.Status != ObjectionActive && o.Status != ObjectionLitigating {
				return "", nil, refused(ErrObjectionNotActive, "the objection is "+o.Status)
			}
		} else if cur.ended != "" {
			return "", nil, ErrNotEffective
		}
		return typ, revocationData(req), nil
	})
}

// Revocation revokes a registration, or only one of its objections, on the
// authority of an effective judgment, ruling or award.
type Revocation struct {
	Objection      string `json:"objection,omitempty"`
	Authority      string `json:"authority"`
	DocumentNumber string `json:"document_number"`
	Note           string `json:"note,omitempty"`
}

// Validate checks a revocation.
func (r *Revocation) Validate() error {
	var p problems
	r.Authority = checkText(&p, "authority", r.Authority, true, maxName)
	r.DocumentNumber = checkText(&p, "document_number", r.DocumentNumber, true, maxSerial)
	r.Note = checkText(&p, "note", r.Note, false, maxText)
	if r.Objection != "" {
		if err := identifiers.CheckNumber(r.Objection); err != nil {
			p.add("objection", CodeInvalidNumber, err.Error())
		}
	}
	return p.err()
}
