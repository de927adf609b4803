package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/registry"
)

type partiesPage struct {
	Page registry.Page[registry.SavedParty]
	Next string
}

func (s *site) partyList(c *call, q, cursor string) (partiesPage, error) {
	c.audited(auth.ListParties, "")
	page, err := s.svc.SavedParties(c.ctx(), c.caller, q, "", cursor)
	if err != nil {
		return partiesPage{}, err
	}
	return partiesPage{Page: page, Next: nextPage("/parties", url.Values{"q": {q}}, page.NextCursor)}, nil
}

// parties handles GET /parties?q=: the organization's saved parties and a
// form for a new one.
func (s *site) parties(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	data, err := s.partyList(c, q.Get("q"), q.Get("cursor"))
	if err != nil {
		return err
	}
	s.renderForm(w, c, http.StatusOK, "parties", data, url.Values{"q": {q.Get("q")}, "type": {"organization"}}, nil)
	return nil
}

// saveParty handles POST /parties.
func (s *site) saveParty(w http.ResponseWriter, r *http.Request, c *call) error {
	f := r.PostForm
	row := partyRow{Type: f.Get("type"), Name: f.Get("name"), USCC: f.Get("uscc"), IDNumber: f.Get("id_number"),
		Address: f.Get("address"), LegalRepresentative: f.Get("legal_representative")}
	req := registry.SavedPartyRequest{Label: strings.TrimSpace(f.Get("label")), Party: row.party()}
	c.audited(auth.SaveParty, "")
	if _, err := s.svc.SaveParty(c.ctx(), c.caller, req); err != nil {
		data, lerr := s.partyList(c, "", "")
		if lerr != nil {
			return err
		}
		c.audited(auth.SaveParty, "")
		form := url.Values{"label": {req.Label}, "type": {row.Type}, "name": {row.Name}, "uscc": {row.USCC}, "id_number": {row.IDNumber},
			"address": {row.Address}, "legal_representative": {row.LegalRepresentative}}
		return s.formFailed(w, c, "parties", data, form, "", err)
	}
	http.Redirect(w, r, "/parties?done=party_saved", http.StatusSeeOther)
	return nil
}

// deleteParty handles POST /parties/{id}/deletion.
func (s *site) deleteParty(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	c.audited(auth.DeleteParty, id)
	if err := s.svc.DeleteSavedParty(c.ctx(), c.caller, id); err != nil {
		return err
	}
	http.Redirect(w, r, "/parties?done=party_deleted", http.StatusSeeOther)
	return nil
}
