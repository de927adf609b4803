package registry

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
)

// The log commits to identity numbers without holding them. In the record
// the log commits to (its leaf), each individual's identity number is
// replaced by a commitment:
//
//	id_commitment = base64(SHA-256("movable-registry id commitment v1\n" || salt || id_number))
//
// with a salt of 32 random bytes drawn for each number in each event. An
// identity number has little entropy (a place code, a birth date, three
// digits and a check character: about 10^11 values), so an unsalted hash
// would give it away to anyone who tries them all; the salt makes the
// commitment say nothing without it. The registry keeps the salts beside the
// event (its openings) and gives them to the registry's staff and to the
// organization that filed the event, who can then check the commitment
// against the number they know. Anyone else holding the leaf, its hash, a
// tile or a proof learns nothing of the number.

// Opening is what opens one commitment: the salt and the identity number.
type Opening struct {
	Commitment string `json:"commitment"`
	Salt       []byte `json:"salt"`
	IDNumber   string `json:"id_number"`
}

// commitmentDomain separates these commitments from any other SHA-256 use.
const commitmentDomain = "movable-registry id commitment v1\n"

// Commitment is the commitment to idNumber under salt.
func Commitment(salt []byte, idNumber string) string {
	h := sha256.New()
	h.Write([]byte(commitmentDomain))
	h.Write(salt)
	h.Write([]byte(idNumber))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// Check reports whether the opening opens its commitment.
func (o Opening) Check() bool {
	return len(o.Salt) == 32 && subtle.ConstantTimeCompare([]byte(Commitment(o.Salt, o.IDNumber)), []byte(o.Commitment)) == 1
}

// mapParties returns data with f applied to every party it names.
func mapParties(data any, f func(Party) (Party, error)) (any, error) {
	var err error
	list := func(ps []Party) []Party {
		if ps == nil {
			return nil
		}
		out := make([]Party, len(ps))
		for i, p := range ps {
			if out[i], err = f(p); err != nil {
				return nil
			}
		}
		return out
	}
	switch d := data.(type) {
	case initialData:
		d.Grantors, d.SecuredParties = list(d.Grantors), list(d.SecuredParties)
		return d, err
	case amendmentData:
		d.AddGrantors, d.RemoveGrantors, d.SecuredParties = list(d.AddGrantors), list(d.RemoveGrantors), list(d.SecuredParties)
		if d.RenameGrantors != nil {
			renames := make([]Rename, len(d.RenameGrantors))
			for i, rn := range d.RenameGrantors {
				froms, tos := list([]Party{rn.From}), list([]Party{rn.To})
				if err != nil {
					return nil, err
				}
				renames[i] = rn
				renames[i].From, renames[i].To = froms[0], tos[0]
			}
			d.RenameGrantors = renames
		}
		return d, err
	}
	return data, nil
}

// committed is body as the log holds it, with each identity number replaced
// by a commitment, and the openings; ok is false when body names none.
func committed(body eventBody) (leaf eventBody, openings []Opening, ok bool) {
	data, _ := mapParties(body.Data, func(p Party) (Party, error) {
		if p.IDNumber == "" {
			return p, nil
		}
		salt := make([]byte, 32)
		if _, err := rand.Read(salt); err != nil {
			panic(err) // crypto/rand does not fail
		}
		o := Opening{Commitment: Commitment(salt, p.IDNumber), Salt: salt, IDNumber: p.IDNumber}
		openings = append(openings, o)
		p.IDNumber, p.IDCommitment = "", o.Commitment
		return p, nil
	})
	body.Data = data
	return body, openings, len(openings) > 0
}

// ErrUnopened is a commitment that the openings given do not open.
var ErrUnopened = errors.New("a commitment is not opened")

// OpenRecord reads a log record and puts back each identity number that
// its openings open: the event in full, as an auditor replays it. A record
// without commitments comes back as it is. The record is decoded once, and
// a replay of what OpenRecord returns decodes it no more.
func OpenRecord(leaf []byte, openings []Opening) (EventRecord, error) {
	e, err := decodeEvent(EventRecord{Record: leaf})
	if err != nil {
		return EventRecord{}, fmt.Errorf("not an event record: %w", err)
	}
	rec := EventRecord{LogIndex: e.LogIndex, Number: e.Number, Type: e.Type, RegistrationNumber: e.RegistrationNumber,
		At: e.At.Time, OrganizationID: e.By.OrganizationID, UserID: e.By.UserID, Record: leaf}
	if len(openings) > 0 {
		byCommitment := make(map[string]Opening, len(openings))
		for _, o := range openings {
			byCommitment[o.Commitment] = o
		}
		data, err := mapParties(e.Data, func(p Party) (Party, error) {
			if p.IDCommitment == "" {
				return p, nil
			}
			o, ok := byCommitment[p.IDCommitment]
			if !ok || !o.Check() {
				return p, fmt.Errorf("%w: %s (party %s)", ErrUnopened, p.IDCommitment, p.Name)
			}
			p.IDNumber, p.IDCommitment = o.IDNumber, ""
			return p, nil
		})
		if err != nil {
			return EventRecord{}, fmt.Errorf("event %s: %w", rec.Number, err)
		}
		e.Data = data
		rec.Record = canonical(eventBody{LogIndex: e.LogIndex, Number: e.Number, Type: e.Type, RegistrationNumber: e.RegistrationNumber,
			RegisteredAt: e.At, By: e.By, Data: data})
		rec.LogRecord, rec.Openings = leaf, openings
	}
	rec.decoded = &e
	return rec, nil
}
