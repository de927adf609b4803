package httpx

import (
	"context"
	"encoding/base64"
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/registry"
)

// exportStall is how long an export may take to send its next batch of rows.
const exportStall = 30 * time.Second

// auditColumns are the CSV export's columns, in order.
var auditColumns = []string{"id", "at", "actor", "user_id", "organization_id", "action", "target", "outcome", "source", "request_id", "detail", "chain"}

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
// take for a formula (it begins with = + - @, a tab, a carriage return, a
// line feed or ') is written with a ' before it; a reader drops one leading
// '. A spreadsheet may drop a quoted cell's leading line break and run what
// follows, so a line feed counts as a tab does. The id, time and chain
// (base64) are never changed.
func auditRow(r audit.Record) []string {
	chain := ""
	if len(r.Chain) > 0 {
		chain = base64.StdEncoding.EncodeToString(r.Chain)
	}
	row := []string{strconv.FormatInt(r.ID, 10), registry.At(r.At).Format(registry.TimeLayout), string(r.Actor), r.UserID, r.OrganizationID,
		r.Action, r.Target, string(r.Outcome), r.Source, r.RequestID, r.Detail, chain}
	for i, v := range row[2:11] {
		i += 2
		if v != "" && strings.ContainsRune("=+-@\t\r\n'", rune(v[0])) {
			row[i] = "'" + v
		}
	}
	return row
}

// AuditRequest reads the audit trail's filters from a query, as GET /audit,
// GET /audit/export and the audit page take them.
func AuditRequest(q url.Values) registry.AuditRequest {
	var actions []string
	for _, a := range q["action"] {
		// A form's empty choice selects nothing.
		if a != "" {
			actions = append(actions, a)
		}
	}
	return registry.AuditRequest{Actor: q.Get("actor"), Organization: q.Get("organization"), Actions: actions,
		ActorEmail: q.Get("actor_email"), OrganizationName: q.Get("organization_name"),
		Target: q.Get("target"), Outcome: q.Get("outcome"), From: q.Get("from"), To: q.Get("to"),
		Cursor: q.Get("cursor"), Limit: q.Get("limit")}
}
