package registry

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/movable-registry/registry/internal/names"

	"github.com/movable-registry/registry/internal/identifiers"
)

// RecordOf reads a log record, as /log/entries serves it, into an event
// record: what a verifier replays.
func RecordOf(record []byte) (EventRecord, error) {
	var h eventBody
	if err := json.Unmarshal(record, &h); err != nil {
		return EventRecord{}, fmt.Errorf("not an event record: %w", err)
	}
	return EventRecord{LogIndex: h.LogIndex, Number: h.Number, Type: h.Type, RegistrationNumber: h.RegistrationNumber,
		At: h.RegisteredAt.Time, OrganizationID: h.By.OrganizationID, UserID: h.By.UserID, Record: record}, nil
}

// Replay derives every registration the records hold (in log order) from
// the events registered at or before asOf, with the statuses that follow at
// instant now, exactly as the registry derives what it serves.
func Replay(records []EventRecord, asOf, now time.Time) ([]Registration, error) {
	upTo := records
	if slices.ContainsFunc(records, func(r EventRecord) bool { return r.At.After(asOf) }) {
		upTo = make([]EventRecord, 0, len(records))
		for _, r := range records {
			if !r.At.After(asOf) {
				upTo = append(upTo, r)
			}
		}
	}
	regs, err := replay(upTo)
	if err != nil {
		return nil, err
	}
	for i := range regs {
		regs[i] = finish(regs[i], now)
	}
	return regs, nil
}

// SearchLog works out from the log alone which registrations a search with
// these criteria, as of asOf, must return and how each matches: the rules
// the database's search index follows, applied to the replayed registrations.
func SearchLog(records []EventRecord, c Criteria, asOf time.Time, includeInactive bool) ([]Match, error) {
	q, _, err := c.query()
	if err != nil {
		return nil, err
	}
	regs, err := Replay(records, asOf, asOf)
	if err != nil {
		return nil, err
	}
	var out []Match
	for _, r := range regs {
		how := matchOf(r, q)
		if how == "" || (r.Status != StatusEffective && !includeInactive && how != MatchRegistrationNumber) {
			continue
		}
		out = append(out, Match{RegistrationNumber: r.Number, MatchedBy: how})
	}
	return out, nil
}

// matchOf says how registration r answers query q, or "" if it does not.
func matchOf(r Registration, q Query) string {
	c := q.Criteria
	grantor := func(ok func(p Party) bool) bool { return slices.ContainsFunc(r.Grantors, ok) }
	switch {
	case q.NameKey != "":
		if grantor(func(p Party) bool { return p.Type == "organization" && nameKey(p) == q.NameKey }) {
			return MatchCurrentName
		}
		if grantor(func(p Party) bool {
			return p.Type == "organization" && slices.ContainsFunc(p.FormerNames, func(n string) bool { return names.Normalize(n).Key == q.NameKey })
		}) {
			return MatchFormerName
		}
	case c.USCC != "":
		if grantor(func(p Party) bool { return p.USCC == c.USCC }) {
			return MatchUSCC
		}
	case c.LEI != "":
		if grantor(func(p Party) bool { return p.LEI == c.LEI }) {
			return MatchLEI
		}
	case c.IDNumber != "":
		if grantor(func(p Party) bool { return p.Type == "individual" && p.IDNumber == c.IDNumber }) {
			return MatchIDNumber
		}
	case c.RegistrationNumber != "":
		if slices.ContainsFunc(r.History, func(h HistoryEntry) bool { return h.Number == c.RegistrationNumber }) {
			return MatchRegistrationNumber
		}
	case q.SerialKey != "":
		if slices.ContainsFunc(r.Collateral.Items, func(it Item) bool { return identifiers.SerialKey(it.SerialNumber) == q.SerialKey }) {
			return MatchSerialNumber
		}
	}
	return ""
}
