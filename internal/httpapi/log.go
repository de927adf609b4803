package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/movable-registry/registry/internal/registry"
)

// checkpoint handles GET /log/checkpoint.
func (a *api) checkpoint(c *gin.Context, caller registry.Caller) error {
	cp, err := a.svc.Checkpoint(c.Request.Context(), caller)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "text/plain; charset=utf-8", cp.Note)
	return nil
}

// logKey handles GET /log/key.
func (a *api) logKey(c *gin.Context, caller registry.Caller) error {
	key, err := a.svc.LogKey(caller)
	if err != nil {
		return err
	}
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(key+"\n"))
	return nil
}

// logEntries handles GET /log/entries.
func (a *api) logEntries(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.LogEntries(c.Request.Context(), caller, c.Query("from"), c.Query("to")))
}

// inclusionProof handles GET /log/proof/inclusion.
func (a *api) inclusionProof(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.InclusionProof(c.Request.Context(), caller, c.Query("index"), c.Query("size")))
}

// consistencyProof handles GET /log/proof/consistency.
func (a *api) consistencyProof(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.ConsistencyProof(c.Request.Context(), caller, c.Query("from"), c.Query("to")))
}
