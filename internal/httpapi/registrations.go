package httpapi

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/movable-registry/registry/internal/registry"
)

// file handles POST /registrations.
func (a *api) file(c *gin.Context, caller registry.Caller) error {
	var f registry.Filing
	if err := decode(c, &f); err != nil {
		return err
	}
	r, err := a.svc.File(c.Request.Context(), caller, f)
	if err != nil {
		return err
	}
	a.renderRegistration(c, http.StatusCreated, r)
	return nil
}

func (a *api) renderRegistration(c *gin.Context, status int, r registry.Registration) {
	c.Header("Location", BasePath+"/registrations/"+r.Number)
	c.Header("ETag", `"`+strconv.Itoa(r.Version)+`"`)
	if r.ModificationCode != "" {
		c.Header("Cache-Control", "no-store")
	}
	a.render(c, status, r)
}

// registration handles GET /registrations/{number}.
func (a *api) registration(c *gin.Context, caller registry.Caller) error {
	r, err := a.svc.Registration(c.Request.Context(), caller, c.Param("number"))
	if err != nil {
		return err
	}
	c.Header("ETag", `"`+strconv.Itoa(r.Version)+`"`)
	a.render(c, http.StatusOK, r)
	return nil
}

// cancel handles POST /registrations/{number}/cancellation.
func (a *api) cancel(c *gin.Context, caller registry.Caller) error {
	var req registry.Cancellation
	if err := decode(c, &req); err != nil {
		return err
	}
	r, err := a.svc.Cancel(c.Request.Context(), caller, c.Param("number"), precondition(c), req)
	if err != nil {
		return err
	}
	a.renderRegistration(c, http.StatusCreated, r)
	return nil
}

func precondition(c *gin.Context) registry.Precondition {
	return registry.Precondition{ModificationCode: c.GetHeader("Modification-Code"), IfMatch: c.GetHeader("If-Match")}
}

// amend handles POST /registrations/{number}/amendments.
func (a *api) amend(c *gin.Context, caller registry.Caller) error {
	var req registry.Amendment
	if err := decode(c, &req); err != nil {
		return err
	}
	r, err := a.svc.Amend(c.Request.Context(), caller, c.Param("number"), precondition(c), req)
	if err != nil {
		return err
	}
	a.renderRegistration(c, http.StatusCreated, r)
	return nil
}

// extend handles POST /registrations/{number}/extensions.
func (a *api) extend(c *gin.Context, caller registry.Caller) error {
	var req registry.Extension
	if err := decode(c, &req); err != nil {
		return err
	}
	r, err := a.svc.Extend(c.Request.Context(), caller, c.Param("number"), precondition(c), req)
	if err != nil {
		return err
	}
	a.renderRegistration(c, http.StatusCreated, r)
	return nil
}

// rotateCode handles POST /registrations/{number}/modification-code.
func (a *api) rotateCode(c *gin.Context, caller registry.Caller) error {
	if err := decodeOptional(c); err != nil {
		return err
	}
	code, err := a.svc.RotateModificationCode(c.Request.Context(), caller, c.Param("number"))
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	a.render(c, http.StatusCreated, code)
	return nil
}

// revoke handles POST /registrations/{number}/revocation.
func (a *api) revoke(c *gin.Context, caller registry.Caller) error {
	var req registry.Revocation
	if err := decode(c, &req); err != nil {
		return err
	}
	r, err := a.svc.Revoke(c.Request.Context(), caller, c.Param("number"), req)
	if err != nil {
		return err
	}
	a.renderRegistration(c, http.StatusCreated, r)
	return nil
}

// list handles GET /registrations?controller=mine&status=&limit=&cursor=.
func (a *api) list(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.Registrations(c.Request.Context(), caller, registry.ListRequest{
		Controller: c.Query("controller"), Status: c.Query("status"), Cursor: c.Query("cursor"), Limit: c.Query("limit"),
	}))
}
