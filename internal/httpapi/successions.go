package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/movable-registry/registry/internal/registry"
)

// startSuccession handles POST /organizations/{id}/succession: 202, and
// the registrations pass by a job, whose progress GET /successions/{id}
// shows.
func (a *api) startSuccession(c *gin.Context, caller registry.Caller) error {
	var req registry.SuccessionRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	s, err := a.svc.StartSuccession(c.Request.Context(), caller, c.Param("id"), req)
	if err != nil {
		return err
	}
	c.Header("Location", BasePath+"/successions/"+s.ID)
	a.render(c, http.StatusAccepted, s)
	return nil
}

// succession handles GET /successions/{id}.
func (a *api) succession(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.Succession(c.Request.Context(), caller, c.Param("id")))
}
