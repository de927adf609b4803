package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/movable-registry/registry/internal/registry"
)

// createDraft handles POST /drafts: any part of a filing, unchecked.
func (a *api) createDraft(c *gin.Context, caller registry.Caller) error {
	var f registry.Filing
	if err := decode(c, &f); err != nil {
		return err
	}
	d, err := a.svc.CreateDraft(c.Request.Context(), caller, f)
	if err != nil {
		return err
	}
	c.Header("Location", BasePath+"/drafts/"+d.ID)
	a.render(c, http.StatusCreated, d)
	return nil
}

// drafts handles GET /drafts.
func (a *api) drafts(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.Drafts(c.Request.Context(), caller, c.Query("limit"), c.Query("cursor")))
}

// draft handles GET /drafts/{id}.
func (a *api) draft(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.Draft(c.Request.Context(), caller, c.Param("id")))
}

// updateDraft handles PUT /drafts/{id}: the draft's filing replaced.
func (a *api) updateDraft(c *gin.Context, caller registry.Caller) error {
	var f registry.Filing
	if err := decode(c, &f); err != nil {
		return err
	}
	return a.ok(c)(a.svc.UpdateDraft(c.Request.Context(), caller, c.Param("id"), f))
}

// deleteDraft handles DELETE /drafts/{id}.
func (a *api) deleteDraft(c *gin.Context, caller registry.Caller) error {
	if err := a.svc.DeleteDraft(c.Request.Context(), caller, c.Param("id")); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// fileDraft handles POST /drafts/{id}/filing: filed as POST /registrations
// would file it, and the draft removed.
func (a *api) fileDraft(c *gin.Context, caller registry.Caller) error {
	r, err := a.svc.FileDraft(c.Request.Context(), caller, c.Param("id"))
	if err != nil {
		return err
	}
	a.renderRegistration(c, http.StatusCreated, r)
	return nil
}
