package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/registry"
)

// createOrganization handles POST /organizations.
func (a *api) createOrganization(c *gin.Context, caller registry.Caller) error {
	var req struct {
		Name string `json:"name"`
		USCC string `json:"uscc"`
		Kind string `json:"kind"`
	}
	if err := decode(c, &req); err != nil {
		return err
	}
	o, err := a.svc.CreateOrganization(c.Request.Context(), caller, registry.Organization{Name: req.Name, USCC: req.USCC, Kind: req.Kind})
	if err != nil {
		return err
	}
	a.render(c, http.StatusCreated, o)
	return nil
}

// signUp handles POST /signup, without a token.
func (a *api) signUp(c *gin.Context, caller registry.Caller) error {
	var req registry.SignUpRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	out, err := a.svc.SignUp(c.Request.Context(), caller, req)
	if err != nil {
		return err
	}
	a.render(c, http.StatusCreated, out)
	return nil
}

// organizations handles GET /organizations?status=&limit=&cursor=.
func (a *api) organizations(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.Organizations(c.Request.Context(), caller, registry.OrganizationListRequest{
		Status: c.Query("status"), Cursor: c.Query("cursor"), Limit: c.Query("limit"),
	}))
}

// approveOrganization handles POST /organizations/{id}/approval.
func (a *api) approveOrganization(c *gin.Context, caller registry.Caller) error {
	return setStatus(a, c, caller, a.svc.ApproveOrganization)
}

// suspendOrganization handles POST /organizations/{id}/suspension.
func (a *api) suspendOrganization(c *gin.Context, caller registry.Caller) error {
	return setStatus(a, c, caller, a.svc.SuspendOrganization)
}

// rejectOrganization handles POST /organizations/{id}/rejection {note?}.
func (a *api) rejectOrganization(c *gin.Context, caller registry.Caller) error {
	var req registry.RejectionRequest
	if err := decodeOptionalInto(c, &req); err != nil {
		return err
	}
	o, err := a.svc.RejectOrganization(c.Request.Context(), caller, c.Param("id"), req)
	if err != nil {
		return err
	}
	a.render(c, http.StatusCreated, o)
	return nil
}

// setStatus handles a POST that changes the status of the organization or
// user named by the path, with no body, answering with it.
func setStatus[T any](a *api, c *gin.Context, caller registry.Caller, set func(context.Context, registry.Caller, string) (T, error)) error {
	if err := decodeOptional(c); err != nil {
		return err
	}
	v, err := set(c.Request.Context(), caller, c.Param("id"))
	if err != nil {
		return err
	}
	a.render(c, http.StatusCreated, v)
	return nil
}

// users handles GET /users?organization_id=&limit=&cursor=.
func (a *api) users(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.Users(c.Request.Context(), caller, registry.UserListRequest{
		OrganizationID: c.Query("organization_id"), Cursor: c.Query("cursor"), Limit: c.Query("limit"),
	}))
}

// suspendUser handles POST /users/{id}/suspension.
func (a *api) suspendUser(c *gin.Context, caller registry.Caller) error {
	return setStatus(a, c, caller, a.svc.SuspendUser)
}

// reinstateUser handles POST /users/{id}/reinstatement.
func (a *api) reinstateUser(c *gin.Context, caller registry.Caller) error {
	return setStatus(a, c, caller, a.svc.ReinstateUser)
}

// tokens handles GET /tokens?user_id=&limit=&cursor=.
func (a *api) tokens(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.Tokens(c.Request.Context(), caller, registry.TokenListRequest{
		UserID: c.Query("user_id"), Cursor: c.Query("cursor"), Limit: c.Query("limit"),
	}))
}

// revokeToken handles DELETE /tokens/{id}.
func (a *api) revokeToken(c *gin.Context, caller registry.Caller) error {
	if err := a.svc.RevokeToken(c.Request.Context(), caller, c.Param("id")); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// createUser handles POST /users.
func (a *api) createUser(c *gin.Context, caller registry.Caller) error {
	var req registry.NewUser
	if err := decode(c, &req); err != nil {
		return err
	}
	u, err := a.svc.CreateUser(c.Request.Context(), caller, req)
	if err != nil {
		return err
	}
	a.render(c, http.StatusCreated, u)
	return nil
}

// createToken handles POST /tokens.
func (a *api) createToken(c *gin.Context, caller registry.Caller) error {
	var req registry.TokenRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	// A refusal is audited under the account asked for, so that guessing
	// against one account shows in the trail.
	if req.UserID != "" {
		c.Set(auditTargetKey, req.UserID)
	} else if req.Email != "" {
		c.Set(auditActionKey, auth.SignIn)
		if strings.Contains(req.Email, "@") && len(req.Email) <= 254 {
			c.Set(auditTargetKey, strings.ToLower(strings.TrimSpace(req.Email)))
		}
	}
	t, err := a.svc.IssueToken(c.Request.Context(), caller, req)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	a.render(c, http.StatusCreated, t)
	return nil
}

// me handles GET /me.
func (a *api) me(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.Me(c.Request.Context(), caller))
}

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

// search handles POST /searches.
func (a *api) search(c *gin.Context, caller registry.Caller) error {
	var req registry.SearchRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	number, body, err := a.svc.Search(c.Request.Context(), caller, req)
	if err != nil {
		return err
	}
	c.Header("Location", BasePath+"/searches/"+number)
	markReplay(c)
	c.Data(http.StatusCreated, "application/json; charset=utf-8", body)
	return nil
}

// storedSearch handles GET /searches/{number}.
func (a *api) storedSearch(c *gin.Context, caller registry.Caller) error {
	body, err := a.svc.StoredSearch(c.Request.Context(), caller, c.Param("number"))
	if err != nil {
		return err
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", body)
	return nil
}

// searchResults handles GET /searches/{number}/results?cursor=.
func (a *api) searchResults(c *gin.Context, caller registry.Caller) error {
	body, err := a.svc.SearchResults(c.Request.Context(), caller, c.Param("number"), c.Query("cursor"))
	if err != nil {
		return err
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", body)
	return nil
}

// certificate handles GET /certificates/{number}, without a token.
func (a *api) certificate(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.Certificate(c.Request.Context(), caller, c.Param("number")))
}

// ready handles GET /readyz.
func (a *api) ready(c *gin.Context) {
	if err := a.svc.Ready(c.Request.Context()); err != nil {
		a.log.Warn("not ready", "error", err)
		a.writeProblem(c, httpx.NewProblem(http.StatusServiceUnavailable, "not_ready", "the database is unreachable or its schema is not current"))
		return
	}
	a.render(c, http.StatusOK, gin.H{"status": "ready"})
}
