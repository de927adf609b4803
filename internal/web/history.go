package web

import (
	"net/http"
	"net/url"
	"time"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/registry"
)

type historyPage struct {
	Page registry.Page[registry.SearchSummary]
	Next string
}

// history handles GET /searches?from=&to=: the organization's stored
// searches, newest first, each reopening its certificate. The dates are
// days in China Standard Time, to included.
func (s *site) history(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	form := url.Values{"from": {q.Get("from")}, "to": {q.Get("to")}}
	req := registry.SearchHistoryRequest{Mine: "true", Cursor: q.Get("cursor")}
	if v := q.Get("from"); v != "" {
		if t, ok := parseLocal(v); ok {
			req.From = t.Format(time.RFC3339)
		} else {
			req.From = v // refused, naming the field
		}
	}
	if v := q.Get("to"); v != "" {
		if t, ok := parseLocal(v); ok {
			req.To = t.AddDate(0, 0, 1).Format(time.RFC3339)
		} else {
			req.To = v
		}
	}
	c.audited(auth.ListSearches, "")
	page, err := s.svc.SearchHistory(c.ctx(), c.caller, req)
	if err != nil {
		return s.formFailed(w, c, "history", historyPage{}, form, "", err)
	}
	s.renderForm(w, c, http.StatusOK, "history", historyPage{Page: page, Next: nextPage("/searches", form, page.NextCursor)}, form, nil)
	return nil
}
