package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/movable-registry/registry/internal/registry"
)

// notices handles GET /notifications.
func (a *api) notices(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.Notices(c.Request.Context(), caller, registry.NoticesRequest{
		Unread: c.Query("unread"), Kind: c.Query("kind"), Limit: c.Query("limit"), Cursor: c.Query("cursor"),
	}))
}

// markNoticeRead handles POST /notifications/{id}/read.
func (a *api) markNoticeRead(c *gin.Context, caller registry.Caller) error {
	if err := a.svc.MarkNoticeRead(c.Request.Context(), caller, c.Param("id")); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// createWatch handles POST /watches.
func (a *api) createWatch(c *gin.Context, caller registry.Caller) error {
	var req registry.WatchRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	w, err := a.svc.CreateWatch(c.Request.Context(), caller, req)
	if err != nil {
		return err
	}
	a.render(c, http.StatusCreated, w)
	return nil
}

// watches handles GET /watches.
func (a *api) watches(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.Watches(c.Request.Context(), caller, c.Query("limit"), c.Query("cursor")))
}

// deleteWatch handles DELETE /watches/{id}.
func (a *api) deleteWatch(c *gin.Context, caller registry.Caller) error {
	if err := a.svc.DeleteWatch(c.Request.Context(), caller, c.Param("id")); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// createWebhook handles POST /webhooks.
func (a *api) createWebhook(c *gin.Context, caller registry.Caller) error {
	var req registry.WebhookRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	w, err := a.svc.CreateWebhook(c.Request.Context(), caller, req)
	if err != nil {
		return err
	}
	a.render(c, http.StatusCreated, w)
	return nil
}

// webhooks handles GET /webhooks.
func (a *api) webhooks(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.Webhooks(c.Request.Context(), caller, c.Query("limit"), c.Query("cursor")))
}

// deleteWebhook handles DELETE /webhooks/{id}.
func (a *api) deleteWebhook(c *gin.Context, caller registry.Caller) error {
	if err := a.svc.DeleteWebhook(c.Request.Context(), caller, c.Param("id")); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// deliveries handles GET /webhooks/{id}/deliveries.
func (a *api) deliveries(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.Deliveries(c.Request.Context(), caller, c.Param("id"), c.Query("limit"), c.Query("cursor")))
}
