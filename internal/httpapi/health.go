package httpapi

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/registry"
)

// ready handles GET /readyz.
func (a *api) ready(c *gin.Context) {
	if a.opts.Draining != nil && a.opts.Draining.Load() {
		a.writeProblem(c, httpx.NewProblem(http.StatusServiceUnavailable, "draining", "this instance is shutting down: the load balancer should send requests elsewhere"))
		return
	}
	err := a.svc.Ready(c.Request.Context())
	if errors.Is(err, registry.ErrLogKeyMismatch) {
		// Logged once, when it was found: a probe every few seconds says it
		// to the load balancer, not to the log.
		a.writeProblem(c, httpx.NewProblem(http.StatusServiceUnavailable, "log_key_mismatch", err.Error()))
		return
	}
	if err != nil {
		a.log.Warn("not ready", "error", err)
		a.writeProblem(c, httpx.NewProblem(http.StatusServiceUnavailable, "not_ready", "the database is unreachable or its schema is not current"))
		return
	}
	// Replicas are reported, not required: without them the primary serves.
	if rs := a.svc.Replicas(); len(rs) > 0 {
		a.render(c, http.StatusOK, gin.H{"status": "ready", "replicas": rs})
		return
	}
	a.render(c, http.StatusOK, gin.H{"status": "ready"})
}
