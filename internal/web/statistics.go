package web

import (
	"net/http"
	"net/url"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/registry"
)

// statisticsPage is the public statistics with a bar chart of each row's
// registrations and searches, drawn on the server as SVG.
type statisticsPage struct {
	Stats registry.Statistics
	Bars  []statBar
	// Max is the tallest bar's count; CSV is the same statistics as CSV.
	Max int64
	CSV string
}

// statBar is one group's bars, their heights in the chart's units (of 100).
type statBar struct {
	Label                      string
	Registrations, Searches    int64
	RegHeight, SearchHeight, X int
	// SearchesText is the searches as shown: "<5" when withheld.
	SearchesText string
}

// statistics handles GET /statistics?from=&to=&by=: anyone.
func (s *site) statistics(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	req := registry.StatisticsRequest{From: q.Get("from"), To: q.Get("to"), By: q.Get("by")}
	form := url.Values{"from": {req.From}, "to": {req.To}, "by": {req.By}}
	c.audited(auth.ReadStatistics, "")
	st, err := s.svc.Statistics(c.ctx(), c.caller, req)
	if err != nil {
		return s.formFailed(w, c, "statistics", statisticsPage{}, form, "", err)
	}
	page := statisticsPage{Stats: st, CSV: "/api/v1/statistics?" + url.Values{"from": {st.From}, "to": {st.To}, "by": {st.By}, "format": {"csv"}}.Encode()}
	for _, row := range st.Rows {
		page.Max = max(page.Max, row.Registrations, row.Searches)
	}
	for i, row := range st.Rows {
		b := statBar{Label: row.Group(), Registrations: row.Registrations, Searches: row.Searches, SearchesText: row.SearchesText(), X: 10 + i*80}
		if page.Max > 0 {
			b.RegHeight = int(row.Registrations * 100 / page.Max)
			b.SearchHeight = int(row.Searches * 100 / page.Max)
		}
		page.Bars = append(page.Bars, b)
	}
	form.Set("by", st.By)
	form.Set("from", st.From)
	form.Set("to", st.To)
	s.renderForm(w, c, http.StatusOK, "statistics", page, form, nil)
	return nil
}
