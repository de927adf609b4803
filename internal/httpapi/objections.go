package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/movable-registry/registry/internal/registry"
)

// fileObjection handles POST /registrations/{number}/objections.
func (a *api) fileObjection(c *gin.Context, caller registry.Caller) error {
	var req registry.ObjectionRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	o, err := a.svc.FileObjection(c.Request.Context(), caller, c.Param("number"), req)
	if err != nil {
		return err
	}
	a.render(c, http.StatusCreated, o)
	return nil
}

// withdrawObjection handles POST /registrations/{number}/objections/{objection}/withdrawal.
func (a *api) withdrawObjection(c *gin.Context, caller registry.Caller) error {
	if err := decodeOptional(c); err != nil {
		return err
	}
	o, err := a.svc.WithdrawObjection(c.Request.Context(), caller, c.Param("number"), c.Param("objection"))
	if err != nil {
		return err
	}
	a.render(c, http.StatusCreated, o)
	return nil
}

// caseNotice handles POST /registrations/{number}/objections/{objection}/case-notice.
func (a *api) caseNotice(c *gin.Context, caller registry.Caller) error {
	var req registry.CaseNoticeRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	o, err := a.svc.SubmitCaseNotice(c.Request.Context(), caller, c.Param("number"), c.Param("objection"), req)
	if err != nil {
		return err
	}
	a.render(c, http.StatusCreated, o)
	return nil
}
