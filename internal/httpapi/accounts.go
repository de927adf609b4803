package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/registry"
)

// createOrganization handles POST /organizations.
func (a *api) createOrganization(c *gin.Context, caller registry.Caller) error {
	var req registry.OrganizationInput
	if err := decode(c, &req); err != nil {
		return err
	}
	o, err := a.svc.CreateOrganization(c.Request.Context(), caller, registry.Organization{Name: req.Name, USCC: req.USCC, Kind: req.Kind, IDNumber: req.IDNumber, Address: req.Address})
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

// updateUser handles PATCH /users/{id} {roles?, display_name?,
// notify_email?, language?}.
func (a *api) updateUser(c *gin.Context, caller registry.Caller) error {
	var req registry.UserUpdate
	if err := decode(c, &req); err != nil {
		return err
	}
	return a.ok(c)(a.svc.UpdateUser(c.Request.Context(), caller, c.Param("id"), req))
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
		c.Set(auditTargetKey, httpx.SignInTarget(req.Email))
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

// changePassword handles POST /password {email, password, new_password},
// without a token: a user replaces its password, the registry-made one of
// a first admin included.
func (a *api) changePassword(c *gin.Context, caller registry.Caller) error {
	var req registry.PasswordChange
	if err := decode(c, &req); err != nil {
		return err
	}
	c.Set(auditTargetKey, strings.ToLower(strings.TrimSpace(req.Email)))
	if err := a.svc.ChangePassword(c.Request.Context(), caller, req); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}
