package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/identifiers"
)

// Retention. The register keeps its records for Config.RetentionYears
// (15) after a registration ends (the 2021 Measures, art. 32), and the
// personal data of the individuals a registration names no longer than
// that. When a registration has been expired, cancelled or revoked that
// long, ErasePersonalData erases, in one transaction with its audit entry
// (registration.erase): each individual's name, identity number and address
// from its events' full records, the openings of their commitments (salts
// and values), its rows in the search index, and the certificates kept for
// it. Its events keep their place and the rest of their content, so the
// registration still replays, with ErasedAt set and those fields empty.
//
// The log is not touched: a leaf holds an individual's data only as
// commitments (commitments.go), which without their openings say nothing.
// Leaves made before names and addresses (or, earlier, identity numbers)
// were committed to hold them in clear, and keep them: a leaf cannot change
// without breaking every proof over it.

// RetentionStore finds and erases the registrations whose retention period
// has passed.
type RetentionStore interface {
	// EndedBefore lists, in number order after after, up to limit
	// registrations whose personal data is not yet erased and that ended
	// (expired, cancelled or revoked) before instant before.
	EndedBefore(ctx context.Context, before time.Time, after string, limit int) ([]string, error)
	// EraseRegistration stores the registration's events as erased (each
	// record replaced by events' Record, the leaf kept as it was, the
	// openings dropped, erased_at set), blanks its individuals in the search
	// index, marks the registration erased at at, and deletes the
	// certificates kept for it.
	EraseRegistration(ctx context.Context, number string, events []EventRecord, at time.Time) error
	// SearchesShowing finds, locked, the stored searches whose answer, or
	// a kept page of it, shows registration number naming an individual:
	// each with its answer and the pages that show it.
	SearchesShowing(ctx context.Context, number string) ([]ShownSearch, error)
	// EraseSearch stores a search's pages, and its answer with its
	// criteria unless s.Body is nil, as erased at at, keeping the digest
	// its certificate was issued with, and deletes the certificates kept
	// for it.
	EraseSearch(ctx context.Context, s ShownSearch, criteria Criteria, at time.Time) error
	// IDNumberSearchesBefore lists, in number order after after, up to
	// limit stored searches made by an identity number (still held)
	// before instant before.
	IDNumberSearchesBefore(ctx context.Context, before time.Time, after string, limit int) ([]string, error)
	// LockSearch reads a stored search's answer, locked.
	LockSearch(ctx context.Context, number string) (ShownSearch, error)
}

// ShownSearch is a stored search that showed a registration naming an
// individual: its answer (a SearchCertificate's bytes) and the kept pages
// (SearchPages) that showed it.
type ShownSearch struct {
	Number string
	Body   []byte
	Pages  []ShownPage
}

// ShownPage is a kept page of a stored search's answer.
type ShownPage struct {
	Cursor int
	Body   []byte
}

// EraseRecord is rec with the personal data of the individuals it names
// erased at instant at: their names, identity numbers, addresses (and
// their commitments) are empty in its Record, and its openings gone. Its
// leaf is kept: LogRecord is set to the record the log commits to. A
// verifier erases the events that the registry says were erased in the same
// way, and so replays what the registry serves.
func EraseRecord(rec EventRecord, at time.Time) (EventRecord, error) {
	e, err := decodeEvent(rec)
	if err != nil {
		return EventRecord{}, err
	}
	data, err := mapParties(e.Data, func(p Party) (Party, error) { return erasedParty(p), nil })
	if err != nil {
		return EventRecord{}, err
	}
	t := At(at)
	e.Data, e.ErasedAt = data, &t
	out := rec
	out.LogRecord = rec.Leaf()
	out.Record = canonical(eventBody{LogIndex: e.LogIndex, Number: e.Number, Type: e.Type, RegistrationNumber: e.RegistrationNumber,
		RegisteredAt: e.At, By: e.By, Data: data})
	out.Openings = nil
	out.ErasedAt = &t.Time
	out.decoded = &e
	return out, nil
}

// erasedParty is p without an individual's personal data.
func erasedParty(p Party) Party {
	if p.Type != "individual" {
		return p
	}
	p.Name, p.IDNumber, p.Address, p.FormerNames = "", "", "", nil
	p.IDCommitment, p.NameCommitment, p.AddressCommitment = "", "", ""
	return p
}

// endedOn is when a registration ended: a cancellation's or revocation's
// instant, else its expiry; only meaningful when it is not effective.
func (r Registration) endedOn() time.Time {
	if r.EndedAt != nil && r.EndedAt.Before(r.ExpiresAt.Time) {
		return r.EndedAt.Time
	}
	return r.ExpiresAt.Time
}

// erasures is how many registrations one pass of ErasePersonalData looks at
// a batch.
const erasures = 100

// ErasePersonalData erases the personal data of every registration that
// ended more than Config.RetentionYears ago, and the identity number of
// every search made by one that long ago, each in its own transaction with
// its audit entry, on one instance at a time. It returns how many
// registrations it erased.
func (s *Service) ErasePersonalData(ctx context.Context) (erased int, err error) {
	_, err = s.store.Exclusive(ctx, "registry: erase personal data", func() error {
		before := s.clock().AddDate(-s.cfg.RetentionYears, 0, 0)
		if err := s.eraseSearchedIDNumbers(ctx, before); err != nil {
			return err
		}
		for after := ""; ; {
			numbers, err := s.store.EndedBefore(ctx, before, after, erasures)
			if err != nil {
				return err
			}
			for _, n := range numbers {
				switch err := s.erase(ctx, n, before); {
				case errors.Is(err, errNotDue):
				case err != nil:
					return fmt.Errorf("registration %s: %w", n, err)
				default:
					erased++
				}
			}
			if len(numbers) < erasures {
				return nil
			}
			after = numbers[len(numbers)-1]
		}
	})
	return erased, err
}

// erase erases one registration's personal data if it ended before
// instant before and is not yet erased (else errNotDue).
func (s *Service) erase(ctx context.Context, number string, before time.Time) error {
	return s.store.InTx(ctx, func(tx Tx) error {
		state, err := tx.LockRegistration(ctx, number)
		if err != nil {
			return err
		}
		records, err := tx.Events(ctx, []string{state.Number}, farFuture)
		if err != nil {
			return err
		}
		regs, err := replay(records)
		if err != nil {
			return err
		}
		if len(regs) != 1 {
			return ErrNotFound
		}
		at := s.clock()
		r := finish(regs[0], at)
		if r.Status == StatusEffective || r.ErasedAt != nil || !r.endedOn().Before(before) {
			return errNotDue
		}
		erased := make([]EventRecord, len(records))
		for i, rec := range records {
			if erased[i], err = EraseRecord(rec, at); err != nil {
				return err
			}
		}
		at = *erased[0].ErasedAt
		if err := tx.EraseRegistration(ctx, state.Number, erased, at); err != nil {
			return err
		}
		// The stored searches that showed it hold it as it stood: their
		// copies go too, and their criteria when they were its individuals'.
		shown, err := tx.SearchesShowing(ctx, state.Number)
		if err != nil {
			return err
		}
		whose := individualsOf(records)
		for _, sh := range shown {
			sh, criteria, err := eraseFromSearch(sh, state.Number, whose, at)
			if err != nil {
				return fmt.Errorf("search %s: %w", sh.Number, err)
			}
			if err := tx.EraseSearch(ctx, sh, criteria, at); err != nil {
				return err
			}
		}
		entry := s.entry(system, auth.EraseRegistration, state.Number, at)
		entry.Detail = fmt.Sprintf("%s %s; personal data of %d events and %d stored searches erased", r.Status, At(r.endedOn()).Format(TimeLayout), len(erased), len(shown))
		return tx.InsertAudit(ctx, entry)
	})
}

// individuals are the identity numbers of the individuals a registration's
// events name (as parties, removed, renamed): a search by one of them is a
// search for that individual. (A search by name finds organizations only.)
type individuals map[string]bool

// individualsOf collects the individuals records name.
func individualsOf(records []EventRecord) individuals {
	who := individuals{}
	for _, rec := range records {
		e, err := decodeEvent(rec)
		if err != nil {
			continue // replay decoded them all already
		}
		mapParties(e.Data, func(p Party) (Party, error) {
			if id, err := identifiers.CanonicalIDNumber(p.IDNumber); err == nil && p.Type == "individual" {
				who[id] = true
			}
			return p, nil
		})
	}
	return who
}

// searchedFor reports whether criteria search for one of who.
func (who individuals) searchedFor(c Criteria) bool {
	id, err := identifiers.CanonicalIDNumber(c.IDNumber)
	return c.IDNumber != "" && err == nil && who[id]
}

// eraseFromSearch is a stored search with registration number's
// individuals erased at at from its answer and pages, and its criteria
// blank when they were one of their identity numbers (who). The answer and
// pages keep everything else and say when they were erased (erased_at);
// Body is nil when the answer itself neither showed the registration nor
// searched for its individuals.
func eraseFromSearch(sh ShownSearch, number string, who individuals, at time.Time) (ShownSearch, Criteria, error) {
	t := At(at)
	var cert SearchCertificate
	if err := json.Unmarshal(sh.Body, &cert); err != nil {
		return sh, Criteria{}, err
	}
	out := ShownSearch{Number: sh.Number, Pages: make([]ShownPage, len(sh.Pages))}
	shown := eraseResults(cert.Results, number, t)
	if who.searchedFor(cert.Criteria) {
		cert.Criteria.IDNumber = ""
		cert.CriteriaErased, shown = true, true
	}
	if shown {
		// Else only later pages showed it: the answer stays as it was.
		cert.ErasedAt = &t
		out.Body = canonical(cert)
	}
	for i, p := range sh.Pages {
		var page SearchPage
		if err := json.Unmarshal(p.Body, &page); err != nil {
			return sh, Criteria{}, err
		}
		eraseResults(page.Results, number, t)
		page.ErasedAt = &t
		out.Pages[i] = ShownPage{Cursor: p.Cursor, Body: canonical(page)}
	}
	return out, cert.Criteria, nil
}

// eraseResults erases the individuals of registration number where it is
// among results, and reports whether it was.
func eraseResults(results []SearchResult, number string, at Time) (found bool) {
	for i := range results {
		r := &results[i].Registration
		if r.Number != number {
			continue
		}
		for k := range r.Grantors {
			r.Grantors[k] = erasedParty(r.Grantors[k])
		}
		for k := range r.SecuredParties {
			r.SecuredParties[k] = erasedParty(r.SecuredParties[k])
		}
		r.ErasedAt, found = &at, true
	}
	return found
}

// answerIndividuals lists the registrations among results that name an
// individual, not yet erased: the stored search is found by them when one
// is erased.
func answerIndividuals(results []SearchResult) []string {
	var out []string
	for _, res := range results {
		if res.Registration.ErasedAt == nil && slices.ContainsFunc(res.Registration.Grantors, Party.individual) || slices.ContainsFunc(res.Registration.SecuredParties, Party.individual) {
			out = append(out, res.Registration.Number)
		}
	}
	return out
}

func (p Party) individual() bool { return p.Type == "individual" }

// eraseSearchedIDNumbers erases the identity number of every stored search
// made by one before instant before: a search is kept, but the number it
// was made by no longer than the register keeps personal data.
func (s *Service) eraseSearchedIDNumbers(ctx context.Context, before time.Time) error {
	for after := ""; ; {
		numbers, err := s.store.IDNumberSearchesBefore(ctx, before, after, erasures)
		if err != nil {
			return err
		}
		for _, n := range numbers {
			if err := s.eraseSearchedIDNumber(ctx, n, before); err != nil && !errors.Is(err, errNotDue) {
				return fmt.Errorf("search %s: %w", n, err)
			}
		}
		if len(numbers) < erasures {
			return nil
		}
		after = numbers[len(numbers)-1]
	}
}

// eraseSearchedIDNumber erases the identity number search number was made
// by, if it was made before instant before (else errNotDue), keeping the
// digest its certificate was issued with.
func (s *Service) eraseSearchedIDNumber(ctx context.Context, number string, before time.Time) error {
	return s.store.InTx(ctx, func(tx Tx) error {
		sh, err := tx.LockSearch(ctx, number)
		if err != nil {
			return err
		}
		var cert SearchCertificate
		if err := json.Unmarshal(sh.Body, &cert); err != nil {
			return err
		}
		if cert.Criteria.IDNumber == "" || !cert.SearchedAt.Before(before) {
			return errNotDue
		}
		// Erased as for an erased registration's individual: no result
		// is one (no registration is numbered ""), the criteria are.
		id, err := identifiers.CanonicalIDNumber(cert.Criteria.IDNumber)
		if err != nil {
			return err
		}
		at := s.clock()
		sh, criteria, err := eraseFromSearch(sh, "", individuals{id: true}, at)
		if err != nil {
			return err
		}
		if err := tx.EraseSearch(ctx, sh, criteria, at); err != nil {
			return err
		}
		entry := s.entry(system, auth.EraseSearch, number, at)
		entry.Detail = "searched at " + cert.SearchedAt.Format(TimeLayout) + "; the identity number it was made by erased"
		return tx.InsertAudit(ctx, entry)
	})
}

// erasedAt is when e's personal data was erased, as the API shows it.
func erasedAt(e EventRecord) *Time {
	if e.ErasedAt == nil {
		return nil
	}
	t := At(*e.ErasedAt)
	return &t
}
