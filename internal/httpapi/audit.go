package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/registry"
)

// audit handles GET /audit.
func (a *api) audit(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.Audit(c.Request.Context(), caller, httpx.AuditRequest(c.Request.URL.Query())))
}

// exportAudit handles GET /audit/export: CSV, streamed row by row as the
// database sends them, so an export of any size takes the same memory.
func (a *api) exportAudit(c *gin.Context, caller registry.Caller) error {
	rows, err := httpx.ExportAuditCSV(c.Request.Context(), c.Writer, a.svc, caller, httpx.AuditRequest(c.Request.URL.Query()))
	if err != nil && rows >= 0 {
		// The status is sent: cut the response off so the client sees an
		// incomplete export rather than a short one that looks whole.
		a.log.Error("audit export broken off", "error", err, "rows", rows, "request_id", caller.RequestID)
		panic(http.ErrAbortHandler)
	}
	return err
}
