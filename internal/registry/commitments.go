package registry

import (
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
)

// The log commits to individuals' personal data without holding it. In the
// record the log commits to (its leaf), each individual's identity number,
// name and address is replaced by a commitment:
//
//	id_commitment      = base64(SHA-256("movable-registry id commitment v1\n" || salt || id_number))
//	name_commitment    = base64(SHA-256("movable-registry name commitment v1\n" || salt || name))
//	address_commitment = base64(SHA-256("movable-registry address commitment v1\n" || salt || address))
//
// with a salt of 32 random bytes drawn for each value in each event; the
// prefix keeps a commitment to one field from standing for another. An
// identity number has little entropy (a place code, a birth date, three
// digits and a check character: about 10^11 values), and a name less, so an
// unsalted hash would give them away to anyone who tries them all; the salt
// makes the commitment say nothing without it. The registry keeps the salts
// beside the event (its openings) and gives them to the registry's staff
// and to the organization that filed the event, who can then check the
// commitment against the value they know. Anyone else holding the leaf, its
// hash, a tile or a proof learns nothing of the value.
//
// Events recorded before names and addresses were committed to (and, before
// that, identity numbers) hold them in their leaf in clear; a leaf never
// changes, so those stay there.
//
// When the retention period of a registration's personal data has passed,
// the registry erases it (retention.go): the full records lose the values,
// and the openings their salts, so that the commitments open to nothing any
// more; the leaves, and so the log, stay as they were.

// Opening is what opens one commitment: the salt and the value, which is
// the identity number, the name or the address (exactly one of them).
type Opening struct {
	Commitment string `json:"commitment"`
	Salt       []byte `json:"salt"`
	IDNumber   string `json:"id_number,omitempty"`
	Name       string `json:"name,omitempty"`
	Address    string `json:"address,omitempty"`
}

// The domains separate these commitments from each other and from any
// other SHA-256 use.
const (
	commitmentDomain        = "movable-registry id commitment v1\n"
	nameCommitmentDomain    = "movable-registry name commitment v1\n"
	addressCommitmentDomain = "movable-registry address commitment v1\n"
)

// Commitment is the commitment to idNumber under salt.
func Commitment(salt []byte, idNumber string) string { return commit(commitmentDomain, salt, idNumber) }

// NameCommitment is the commitment to an individual's name under salt.
func NameCommitment(salt []byte, name string) string { return commit(nameCommitmentDomain, salt, name) }

// AddressCommitment is the commitment to an individual's address under salt.
func AddressCommitment(salt []byte, address string) string {
	return commit(addressCommitmentDomain, salt, address)
}

func commit(domain string, salt []byte, value string) string {
	h := sha256.New()
	h.Write([]byte(domain))
	h.Write(salt)
	h.Write([]byte(value))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// Check reports whether the opening opens its commitment.
func (o Opening) Check() bool {
	var c string
	switch {
	case o.IDNumber != "" && o.Name == "" && o.Address == "":
		c = Commitment(o.Salt, o.IDNumber)
	case o.Name != "" && o.IDNumber == "" && o.Address == "":
		c = NameCommitment(o.Salt, o.Name)
	case o.Address != "" && o.IDNumber == "" && o.Name == "":
		c = AddressCommitment(o.Salt, o.Address)
	default:
		return false
	}
	return len(o.Salt) == 32 && subtle.ConstantTimeCompare([]byte(c), []byte(o.Commitment)) == 1
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

// committed is body as the log holds it, with each identity number, and
// each individual's name and address, replaced by a commitment, and the
// openings; ok is false when body names no individual.
func committed(body eventBody) (leaf eventBody, openings []Opening, ok bool) {
	open := func(value string, commitment func([]byte, string) string, o Opening) string {
		salt := make([]byte, 32)
		if _, err := rand.Read(salt); err != nil {
			panic(err) // crypto/rand does not fail
		}
		o.Salt, o.Commitment = salt, commitment(salt, value)
		openings = append(openings, o)
		return o.Commitment
	}
	data, _ := mapParties(body.Data, func(p Party) (Party, error) {
		if p.IDNumber != "" {
			p.IDCommitment = open(p.IDNumber, Commitment, Opening{IDNumber: p.IDNumber})
			p.IDNumber = ""
		}
		if p.Type != "individual" {
			return p, nil
		}
		if p.Name != "" {
			p.NameCommitment = open(p.Name, NameCommitment, Opening{Name: p.Name})
			p.Name = ""
		}
		if p.Address != "" {
			p.AddressCommitment = open(p.Address, AddressCommitment, Opening{Address: p.Address})
			p.Address = ""
		}
		return p, nil
	})
	body.Data = data
	return body, openings, len(openings) > 0
}

// ErrUnopened is a commitment that the openings given do not open.
var ErrUnopened = errors.New("a commitment is not opened")

// OpenRecord reads a log record and puts back each identity number, name
// and address that its openings open: the event in full, as an auditor
// replays it. A record without commitments comes back as it is. The record
// is decoded once, and a replay of what OpenRecord returns decodes it no
// more.
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
		opened := func(commitment, field string) (Opening, error) {
			o, ok := byCommitment[commitment]
			if !ok || !o.Check() {
				return o, fmt.Errorf("%w: %s (a party's %s)", ErrUnopened, commitment, field)
			}
			return o, nil
		}
		data, err := mapParties(e.Data, func(p Party) (Party, error) {
			if p.IDCommitment != "" {
				o, err := opened(p.IDCommitment, "id_number")
				if err != nil || o.IDNumber == "" {
					return p, cmp.Or(err, fmt.Errorf("%w: %s opens no identity number", ErrUnopened, p.IDCommitment))
				}
				p.IDNumber, p.IDCommitment = o.IDNumber, ""
			}
			if p.NameCommitment != "" {
				o, err := opened(p.NameCommitment, "name")
				if err != nil || o.Name == "" {
					return p, cmp.Or(err, fmt.Errorf("%w: %s opens no name", ErrUnopened, p.NameCommitment))
				}
				p.Name, p.NameCommitment = o.Name, ""
			}
			if p.AddressCommitment != "" {
				o, err := opened(p.AddressCommitment, "address")
				if err != nil || o.Address == "" {
					return p, cmp.Or(err, fmt.Errorf("%w: %s opens no address", ErrUnopened, p.AddressCommitment))
				}
				p.Address, p.AddressCommitment = o.Address, ""
			}
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
