package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/movable-registry/registry/internal/registry"
)

// saveParty handles POST /parties.
func (a *api) saveParty(c *gin.Context, caller registry.Caller) error {
	var req registry.SavedPartyRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	sp, err := a.svc.SaveParty(c.Request.Context(), caller, req)
	if err != nil {
		return err
	}
	a.render(c, http.StatusCreated, sp)
	return nil
}

// savedParties handles GET /parties?q=.
func (a *api) savedParties(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.SavedParties(c.Request.Context(), caller, c.Query("q"), c.Query("limit"), c.Query("cursor")))
}

// deleteSavedParty handles DELETE /parties/{id}.
func (a *api) deleteSavedParty(c *gin.Context, caller registry.Caller) error {
	if err := a.svc.DeleteSavedParty(c.Request.Context(), caller, c.Param("id")); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}
