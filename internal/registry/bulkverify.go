package registry

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"strconv"
	"time"

	"github.com/movable-registry/registry/internal/auth"
)

// A verifier of a large register reads the log in bulk: the records from
// the entry bundles, and from these two calls the columns the database
// files each event under (with the openings of its commitments), and a
// digest of each registration's state, which it compares with its own
// replay instead of fetching every registration.

// LogColumns is one event's columns and openings, without its record.
type LogColumns struct {
	Index    int64        `json:"index"`
	Indexed  IndexedEvent `json:"indexed"`
	Openings []Opening    `json:"openings,omitempty"`
	// ErasedAt is when the event's individuals' personal data was erased.
	ErasedAt *Time `json:"erased_at,omitempty"`
}

// maxColumnsPage is the most events one page of columns holds.
const maxColumnsPage = 10000

// LogColumns returns the columns of the events at log positions from
// (inclusive) to to (exclusive, default the log's end), 10,000 a page.
func (s *Service) LogColumns(ctx context.Context, c Caller, from, to string) (Page[LogColumns], error) {
	if err := allow(c, auth.ReadLogEntries); err != nil {
		return Page[LogColumns]{}, err
	}
	lo, end, next, err := s.logRange(ctx, from, to, maxColumnsPage)
	if err != nil {
		return Page[LogColumns]{}, err
	}
	entries, err := s.store.LogColumns(ctx, lo, end)
	if err != nil {
		return Page[LogColumns]{}, err
	}
	page := Page[LogColumns]{Items: make([]LogColumns, len(entries)), NextCursor: next,
		after: func(e LogColumns) string { return strconv.FormatInt(e.Index+1, 10) }}
	for i, e := range entries {
		page.Items[i] = LogColumns{Index: e.LogIndex, Openings: e.Openings, ErasedAt: erasedAt(e), Indexed: indexedOf(e)}
	}
	return page, nil
}

// StateDigest is the digest of a registration's state as the API serves it
// to the registry's staff: SHA-256 over every field of it, each string and
// list after its length, each optional part after whether it is there. It
// is written field by field rather than through its JSON, which took five
// times as long (a verifier digests millions); a test sets each field in
// turn and checks that the digest moves.
func StateDigest(r Registration) []byte {
	d := digester{h: sha256.New()}
	d.str(r.Number)
	d.str(r.Kind)
	d.str(r.Status)
	d.time(r.RegisteredAt)
	d.time(r.ExpiresAt)
	d.int(int64(r.Version))
	d.str(r.Controller.OrganizationID)
	d.str(r.Controller.USCC)
	d.parties(r.Grantors)
	d.parties(r.SecuredParties)
	d.str(r.Collateral.Description)
	d.int(int64(len(r.Collateral.Items)))
	for _, it := range r.Collateral.Items {
		d.str(it.ID)
		d.str(it.Type)
		d.str(it.SerialNumber)
		d.str(it.Description)
		d.time(it.RegisteredAt)
	}
	d.int(int64(len(r.Collateral.Attachments)))
	for _, a := range r.Collateral.Attachments {
		d.str(a.ID)
		d.str(a.SHA256)
		d.str(a.MediaType)
		d.int(int64(a.Size))
	}
	d.int(int64(r.PeriodMonths))
	if d.present(r.MaxSecuredAmount != nil) {
		d.str(r.MaxSecuredAmount.Amount)
		d.str(r.MaxSecuredAmount.Currency)
	}
	d.str(r.Reference)
	d.present(r.AgreedWithGrantor)
	if d.present(r.PrincipalAmount != nil) {
		d.str(r.PrincipalAmount.Amount)
		d.str(r.PrincipalAmount.Currency)
	}
	d.str(r.SecurityScope)
	d.str(r.TransferRestriction)
	d.int(int64(len(r.Objections)))
	for _, o := range r.Objections {
		d.str(o.Number)
		d.str(o.Status)
		d.time(o.FiledAt)
		d.optionalTime(o.LapsesAt)
		d.str(o.By.OrganizationID)
		d.str(o.Statement)
		d.str(o.Interest)
		if d.present(o.CaseNotice != nil) {
			d.str(o.CaseNotice.Court)
			d.str(o.CaseNotice.CaseNumber)
			d.str(o.CaseNotice.AcceptedOn)
			d.time(o.CaseNotice.SubmittedAt)
		}
		d.optionalTime(o.EndedAt)
	}
	d.int(int64(len(r.History)))
	for _, h := range r.History {
		d.str(h.Number)
		d.str(h.Type)
		d.time(h.RegisteredAt)
		d.str(h.By.OrganizationID)
		d.int(h.LogIndex)
		d.str(h.Objection)
		if d.present(h.Succession != nil) {
			d.str(h.Succession.Basis)
			d.str(h.Succession.DocumentNumber)
			d.str(h.Succession.PredecessorUSCC)
		}
	}
	d.str(r.ModificationCode)
	d.int(r.LogIndex)
	d.optionalTime(r.EndedAt)
	d.optionalTime(r.ErasedAt)
	return d.h.Sum(nil)
}

// digester writes values into a hash unambiguously.
type digester struct {
	h   hash.Hash
	buf [8]byte
}

func (d *digester) int(n int64) {
	binary.BigEndian.PutUint64(d.buf[:], uint64(n))
	d.h.Write(d.buf[:])
}

func (d *digester) str(s string) {
	d.int(int64(len(s)))
	io.WriteString(d.h, s)
}

func (d *digester) time(t Time) { d.int(t.UnixMicro()) }

func (d *digester) present(ok bool) bool {
	if ok {
		d.int(1)
	} else {
		d.int(0)
	}
	return ok
}

func (d *digester) optionalTime(t *Time) {
	if d.present(t != nil) {
		d.time(*t)
	}
}

func (d *digester) parties(ps []Party) {
	d.int(int64(len(ps)))
	for _, p := range ps {
		d.str(p.Type)
		d.str(p.Name)
		d.str(p.USCC)
		d.str(p.Country)
		d.str(p.RegistrationNumber)
		d.str(p.LEI)
		d.str(p.IDNumber)
		d.str(p.IDCommitment)
		d.str(p.NameCommitment)
		d.str(p.AddressCommitment)
		d.str(p.Address)
		d.str(p.LegalRepresentative)
		d.str(p.FinancialInstitutionCode)
		d.int(int64(len(p.FormerNames)))
		for _, n := range p.FormerNames {
			d.str(n)
		}
	}
}

// RegistrationDigest is a registration's state by digest.
type RegistrationDigest struct {
	Number  string `json:"number"`
	Version int    `json:"version"`
	Digest  []byte `json:"digest"`
}

// maxStatePage is the most registrations one page of digests holds.
const maxStatePage = 5000

// LogState returns, in registration-number order after after, the digest
// of each registration replayed from its events among the log's first size
// (default: all), with the statuses that follow at instant at (RFC 3339,
// default now): what a verifier compares with its own replay.
func (s *Service) LogState(ctx context.Context, c Caller, after, size, at string) (Page[RegistrationDigest], error) {
	if err := allow(c, auth.ReadLogEntries); err != nil {
		return Page[RegistrationDigest]{}, err
	}
	n, err := s.store.LogSize(ctx)
	if err != nil {
		return Page[RegistrationDigest]{}, err
	}
	var p problems
	upTo := position(&p, "size", size, n, n)
	now := s.clock()
	if at != "" {
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			p.add("at", CodeInvalidField, "must be an RFC 3339 time")
		}
		now = t
	}
	if after != "" {
		if err := checkNumber("after", after); err != nil {
			p.prefixed("", err)
		}
	}
	if err := p.err(); err != nil {
		return Page[RegistrationDigest]{}, err
	}
	numbers, err := s.store.RegistrationNumbersAfter(ctx, after, maxStatePage)
	if err != nil {
		return Page[RegistrationDigest]{}, err
	}
	page := Page[RegistrationDigest]{Items: []RegistrationDigest{}, after: func(d RegistrationDigest) string { return d.Number }}
	if len(numbers) == 0 {
		return page, nil
	}
	records, err := s.store.Events(ctx, numbers, farFuture)
	if err != nil {
		return Page[RegistrationDigest]{}, err
	}
	kept := records[:0]
	for _, r := range records {
		if r.LogIndex < upTo {
			kept = append(kept, r)
		}
	}
	regs, err := replay(kept)
	if err != nil {
		return Page[RegistrationDigest]{}, fmt.Errorf("%w: %v", ErrLogInconsistent, err)
	}
	for _, r := range regs {
		r = finish(r, now)
		page.Items = append(page.Items, RegistrationDigest{Number: r.Number, Version: r.Version, Digest: StateDigest(r)})
	}
	if len(numbers) == maxStatePage {
		page.NextCursor = numbers[len(numbers)-1]
	}
	return page, nil
}
