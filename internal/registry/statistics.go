package registry

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/movable-registry/registry/internal/auth"
)

// StatDelta is what one event or search adds to the public statistics.
type StatDelta struct {
	Month                                              time.Time // the first of its month, China Standard Time
	Kind, Province                                     string
	Registrations, Amendments, Cancellations, Searches int64
}

// StatRow is one month, kind and province's counts.
type StatRow struct {
	// The group, as asked: a month (YYYY-MM), a kind ("" for searches)
	// or a province ("" for none); the other two are absent.
	Month         *string `json:"month,omitempty"`
	Kind          *string `json:"kind,omitempty"`
	Province      *string `json:"province,omitempty"`
	Registrations int64   `json:"registrations"`
	Amendments    int64   `json:"amendments"`
	Cancellations int64   `json:"cancellations"`
	// Searches counts the searches; to the public it leaves out each month
	// and province with fewer than SmallCount (one organization's searches
	// would show), and when that leaves nothing of a row's searches, the
	// row says SearchesBelow instead.
	Searches      int64 `json:"searches"`
	SearchesBelow int64 `json:"-"`
}

// SmallCount is the fewest searches in one month and province that the
// public statistics show.
const SmallCount = 5

// MarshalJSON writes searches as null with searches_below when the count
// is withheld: a client's generated type stays an integer.
func (r StatRow) MarshalJSON() ([]byte, error) {
	type plain StatRow
	if r.SearchesBelow == 0 {
		return json.Marshal(plain(r))
	}
	return json.Marshal(struct {
		plain
		Searches      *int64 `json:"searches"`
		SearchesBelow int64  `json:"searches_below"`
	}{plain: plain(r), SearchesBelow: r.SearchesBelow})
}

// SearchesText is the searches as the CSV and the pages show them: "<5"
// when withheld.
func (r StatRow) SearchesText() string {
	if r.SearchesBelow > 0 {
		return "<" + strconv.FormatInt(r.SearchesBelow, 10)
	}
	return strconv.FormatInt(r.Searches, 10)
}

// Group is the row's month, kind or province.
func (r StatRow) Group() string {
	for _, g := range []*string{r.Month, r.Kind, r.Province} {
		if g != nil {
			return *g
		}
	}
	return ""
}

// StatisticsStore keeps the statistics with the events.
type StatisticsStore interface {
	// CountStatistic adds d, with the event or search's other rows.
	CountStatistic(ctx context.Context, d StatDelta) error
	// Statistics sums the counts of the months in [from, to) grouped by
	// "month", "kind" or "province". With withhold, the searches of each
	// month and province with fewer than SmallCount are left out of the
	// sums, and a row that had any is marked withheld.
	Statistics(ctx context.Context, from, to time.Time, by string, withhold bool) ([]StatRow, []bool, error)
}

// monthOf is the first of at's month in China Standard Time.
func monthOf(at time.Time) time.Time {
	t := at.In(Shanghai)
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// province is the province code of a party: the first two digits of the
// region code in a USCC (its third and fourth characters) or an identity
// number (its first two); none for a party registered abroad.
func province(p Party) string {
	switch {
	case len(p.USCC) == 18:
		return p.USCC[2:4]
	case len(p.IDNumber) == 18:
		return p.IDNumber[:2]
	}
	return ""
}

// statOf is what an event of type typ on registration r adds (nothing for
// the types the statistics do not count).
func statOf(typ string, r Registration, at time.Time) (StatDelta, bool) {
	d := StatDelta{Month: monthOf(at), Kind: r.Kind}
	if len(r.Grantors) > 0 {
		d.Province = province(r.Grantors[0])
	}
	switch typ {
	case EventInitial:
		d.Registrations = 1
	case EventAmendment:
		d.Amendments = 1
	case EventCancellation:
		d.Cancellations = 1
	default:
		return d, false
	}
	return d, true
}

// StatisticsRequest is GET /statistics: from and to (YYYY-MM, to included),
// by (month, kind or province).
type StatisticsRequest struct {
	From, To, By string
}

// Statistics are the register's counts, grouped as asked, for anyone.
type Statistics struct {
	From string    `json:"from"`
	To   string    `json:"to"`
	By   string    `json:"by"`
	Rows []StatRow `json:"rows"`
}

// Statistics returns the counts of registrations, amendments, cancellations
// and searches in the months from..to (the last twelve by default), by
// month, kind or province.
func (s *Service) Statistics(ctx context.Context, c Caller, req StatisticsRequest) (Statistics, error) {
	if err := allow(c, auth.ReadStatistics); err != nil {
		return Statistics{}, err
	}
	var p problems
	now := monthOf(s.clock())
	to, from := now, now.AddDate(0, -11, 0)
	for _, m := range []struct {
		field, value string
		into         *time.Time
	}{{"from", req.From, &from}, {"to", req.To, &to}} {
		if m.value == "" {
			continue
		}
		t, err := time.Parse("2006-01", m.value)
		if err != nil {
			p.add(m.field, CodeInvalidField, "must be a month as YYYY-MM")
			continue
		}
		*m.into = t
	}
	if to.Before(from) {
		p.add("to", CodeInvalidField, "must not be before from")
	} else if to.Sub(from) > 100*366*24*time.Hour {
		p.add("from", CodeInvalidField, "must be at most a hundred years before to")
	}
	by := req.By
	if by == "" {
		by = "month"
	}
	checkEnum(&p, "by", by, []string{"month", "kind", "province"})
	if err := p.err(); err != nil {
		return Statistics{}, err
	}
	// The public sees no month and province with a handful of searches:
	// there they are one organization's (a search counts in its searcher's
	// province). Left out of every sum, not only hidden in its own row, so
	// that subtracting one grouping from another finds nothing. Staff see
	// exact counts.
	staff := c.Has(auth.Admin) || c.Has(auth.Auditor)
	rows, withheld, err := s.store.Statistics(ctx, from, to.AddDate(0, 1, 0), by, !staff)
	if err != nil {
		return Statistics{}, err
	}
	for i := range rows {
		if withheld[i] && rows[i].Searches == 0 {
			rows[i].SearchesBelow = SmallCount
		}
	}
	if rows == nil {
		rows = []StatRow{}
	}
	return Statistics{From: from.Format("2006-01"), To: to.Format("2006-01"), By: by, Rows: rows}, nil
}
