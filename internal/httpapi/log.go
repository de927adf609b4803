package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/registry"
)

func auditRequest(c *gin.Context) registry.AuditRequest {
	return registry.AuditRequest{Actor: c.Query("actor"), Organization: c.Query("organization"), Action: c.Query("action"),
		Target: c.Query("target"), Outcome: c.Query("outcome"), From: c.Query("from"), To: c.Query("to"),
		Cursor: c.Query("cursor"), Limit: c.Query("limit")}
}

// audit handles GET /audit.
func (a *api) audit(c *gin.Context, caller registry.Caller) error {
	return a.ok(c)(a.svc.Audit(c.Request.Context(), caller, auditRequest(c)))
}

// exportStall is how long an export may take to send its next batch of rows.
const exportStall = 30 * time.Second

// auditColumns are the CSV export's columns, in order.
var auditColumns = []string{"id", "at", "actor", "user_id", "organization_id", "action", "target", "outcome", "source", "request_id", "detail", "chain"}

// exportAudit handles GET /audit/export: CSV, streamed row by row as the
// database sends them, so an export of any size takes the same memory.
func (a *api) exportAudit(c *gin.Context, caller registry.Caller) error {
	rows, err := ExportAuditCSV(c.Request.Context(), c.Writer, a.svc, caller, auditRequest(c))
	if err != nil && rows >= 0 {
		// The status is sent: cut the response off so the client sees an
		// incomplete export rather than a short one that looks whole.
		a.log.Error("audit export broken off", "error", err, "rows", rows, "request_id", caller.RequestID)
		panic(http.ErrAbortHandler)
	}
	return err
}

// ExportAuditCSV streams the audit entries req selects to w as CSV (the
// columns of GET /audit/export), for the API and the web pages alike. It
// returns how many rows it wrote, or -1 when it failed before answering, so
// that the caller may still answer with an error.
func ExportAuditCSV(ctx context.Context, w http.ResponseWriter, svc *registry.Service, caller registry.Caller, req registry.AuditRequest) (rows int, err error) {
	cw := csv.NewWriter(w)
	// The server's write timeout bounds an answer; an export of millions
	// of rows takes longer, so each batch sent earns the export more time.
	rc := http.NewResponseController(w)
	started := false
	start := func() {
		started = true
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="audit.csv"`)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		_ = cw.Write(auditColumns)
	}
	err = svc.ExportAudit(ctx, caller, req, func(r audit.Record) error {
		if !started {
			start()
		}
		if err := cw.Write(auditRow(r)); err != nil {
			return err
		}
		if rows++; rows%256 == 0 {
			cw.Flush()
			_ = rc.Flush()
			_ = rc.SetWriteDeadline(time.Now().Add(exportStall))
			return cw.Error()
		}
		return nil
	})
	if err != nil && !started {
		return -1, err
	}
	if err != nil {
		return rows, err
	}
	if !started {
		start()
	}
	cw.Flush()
	return rows, cw.Error()
}

// auditRow is a record as one CSV row. A text cell that a spreadsheet would
// take for a formula (it begins with = + - @, a tab, a carriage return or
// ') is written with a ' before it; a reader drops one leading '. The id,
// time and chain (base64) are never changed.
func auditRow(r audit.Record) []string {
	chain := ""
	if len(r.Chain) > 0 {
		chain = base64.StdEncoding.EncodeToString(r.Chain)
	}
	row := []string{strconv.FormatInt(r.ID, 10), registry.At(r.At).Format(registry.TimeLayout), string(r.Actor), r.UserID, r.OrganizationID,
		r.Action, r.Target, string(r.Outcome), r.Source, r.RequestID, r.Detail, chain}
	for i, v := range row[2:11] {
		i += 2
		if v != "" && strings.ContainsRune("=+-@\t\r'", rune(v[0])) {
			row[i] = "'" + v
		}
	}
	return row
}

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
