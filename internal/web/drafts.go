package web

import (
	"net/http"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/registry"
)

type draftsPage struct {
	Page registry.Page[registry.Draft]
	Next string
}

// drafts handles GET /drafts: the organization's drafts, each to resume or
// delete.
func (s *site) drafts(w http.ResponseWriter, r *http.Request, c *call) error {
	c.audited(auth.ListDrafts, "")
	page, err := s.svc.Drafts(c.ctx(), c.caller, "", r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	s.render(w, c, http.StatusOK, "drafts", draftsPage{Page: page, Next: nextPage("/drafts", nil, page.NextCursor)})
	return nil
}

// deleteDraft handles POST /drafts/{id}/deletion.
func (s *site) deleteDraft(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	c.audited(auth.DeleteDraft, id)
	if err := s.svc.DeleteDraft(c.ctx(), c.caller, id); err != nil {
		return err
	}
	http.Redirect(w, r, "/drafts?done=draft_deleted", http.StatusSeeOther)
	return nil
}
