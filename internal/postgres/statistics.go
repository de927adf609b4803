package postgres

import (
	"context"
	"strconv"
	"time"

	"github.com/movable-registry/registry/internal/registry"
)

// CountStatistic adds to the statistics with the event's other rows.
func (s *Store) CountStatistic(ctx context.Context, d registry.StatDelta) error {
	if s.buf == nil {
		return s.alone(ctx, func(tx *Store) error { return tx.CountStatistic(ctx, d) })
	}
	s.buf.stats = append(s.buf.stats, d)
	return nil
}

// flushStats adds the batch's counts, summed by month, kind and province,
// in one statement.
func (b *writeBuffer) flushStats() error {
	if len(b.stats) == 0 {
		return nil
	}
	return b.exec(statsSQL(1), statArgs(b.stats)...)
}

// statsSQL adds the counts of the arrays from $first on (statArgs).
func statsSQL(first int) string {
	p := func(k int) string { return "$" + strconv.Itoa(first+k) }
	return `INSERT INTO statistics (month, kind, province, registrations, amendments, cancellations, searches)
		SELECT x.m::date, x.k, x.p, x.r, x.a, x.c, x.s
		FROM unnest(` + p(0) + `::text[], ` + p(1) + `::text[], ` + p(2) + `::text[], ` + p(3) + `::bigint[], ` + p(4) + `::bigint[], ` +
		p(5) + `::bigint[], ` + p(6) + `::bigint[]) AS x(m, k, p, r, a, c, s)
		ON CONFLICT (month, kind, province) DO UPDATE SET
			registrations = statistics.registrations + EXCLUDED.registrations, amendments = statistics.amendments + EXCLUDED.amendments,
			cancellations = statistics.cancellations + EXCLUDED.cancellations, searches = statistics.searches + EXCLUDED.searches`
}

// statArgs sums deltas by month, kind and province, as statsSQL's arrays.
func statArgs(deltas []registry.StatDelta) []any {
	type key struct {
		month          time.Time
		kind, province string
	}
	sums := map[key]*registry.StatDelta{}
	var order []key
	for _, d := range deltas {
		k := key{d.Month, d.Kind, d.Province}
		if sums[k] == nil {
			sums[k] = &registry.StatDelta{Month: d.Month, Kind: d.Kind, Province: d.Province}
			order = append(order, k)
		}
		s := sums[k]
		s.Registrations += d.Registrations
		s.Amendments += d.Amendments
		s.Cancellations += d.Cancellations
		s.Searches += d.Searches
	}
	n := len(order)
	// Months as dates' text: a time would be read in the session's zone.
	month, kind, prov := make([]string, n), make([]string, n), make([]string, n)
	reg, amd, can, sea := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i, k := range order {
		s := sums[k]
		month[i], kind[i], prov[i] = s.Month.Format(time.DateOnly), s.Kind, s.Province
		reg[i], amd[i], can[i], sea[i] = s.Registrations, s.Amendments, s.Cancellations, s.Searches
	}
	return []any{month, kind, prov, reg, amd, can, sea}
}

// Statistics sums the months in [from, to) by month, kind or province.
func (s *Store) Statistics(ctx context.Context, from, to time.Time, by string, withhold bool) ([]registry.StatRow, []bool, error) {
	group := map[string]string{"month": "to_char(month, 'YYYY-MM')", "kind": "kind", "province": "province"}[by]
	var rows []struct {
		G                                                  string
		Registrations, Amendments, Cancellations, Searches int64
		Withheld                                           bool
	}
	// cell is the searches of the row's month and province (all kinds).
	err := s.q(ctx).Raw(`WITH cells AS (
			SELECT *, sum(searches) OVER (PARTITION BY month, province) AS cell
			FROM statistics WHERE month >= ?::date AND month < ?::date)
		SELECT `+group+` AS g, sum(registrations) AS registrations, sum(amendments) AS amendments,
			sum(cancellations) AS cancellations,
			sum(CASE WHEN ? AND cell < ? THEN 0 ELSE searches END) AS searches,
			coalesce(bool_or(? AND cell > 0 AND cell < ?), false) AS withheld
		FROM cells GROUP BY 1 ORDER BY 1`, from.Format(time.DateOnly), to.Format(time.DateOnly),
		withhold, registry.SmallCount, withhold, registry.SmallCount).Scan(&rows).Error
	if err != nil {
		return nil, nil, translate(err)
	}
	out := make([]registry.StatRow, len(rows))
	withheld := make([]bool, len(rows))
	for i, r := range rows {
		withheld[i] = r.Withheld
		out[i] = registry.StatRow{Registrations: r.Registrations, Amendments: r.Amendments, Cancellations: r.Cancellations, Searches: r.Searches}
		g := r.G
		switch by {
		case "month":
			out[i].Month = &g
		case "kind":
			out[i].Kind = &g
		default:
			out[i].Province = &g
		}
	}
	return out, withheld, nil
}
