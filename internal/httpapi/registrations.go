package httpapi

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/httpx"
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

// batchResult is one row's outcome in a bulk request.
type batchResult struct {
	Index        int            `json:"index"`
	Status       int            `json:"status"`
	Registration any            `json:"registration,omitempty"`
	Problem      *httpx.Problem `json:"problem,omitempty"`
}

// filedSummary is what a bulk answer says of a filing it filed: enough to
// find the registration and change it. The whole registration, a thousand
// times over, would be an answer of tens of MB; it is one GET away.
type filedSummary struct {
	Number           string        `json:"number"`
	RegisteredAt     registry.Time `json:"registered_at"`
	ExpiresAt        registry.Time `json:"expires_at"`
	Version          int           `json:"version"`
	ModificationCode string        `json:"modification_code,omitempty"`
}

// changedSummary is what a bulk answer says of a change it made: the
// registration as the change left it, in brief, and the change's event.
type changedSummary struct {
	Number      string        `json:"number"`
	Status      string        `json:"status"`
	ExpiresAt   registry.Time `json:"expires_at"`
	Version     int           `json:"version"`
	EventNumber string        `json:"event_number"`
	LogIndex    int64         `json:"log_index"`
}

// fileBatch handles POST /registrations/batch: up to 1,000 filings, each
// accepted or refused on its own exactly as alone (a refusal is audited
// as one alone would be). The filings are decoded one at a time from the
// body as it comes (decodeBatch); those the request's time did not reach
// are answered 503 in their place, not filed.
func (a *api) fileBatch(c *gin.Context, caller registry.Caller) error {
	filings, err := decodeBatch(c.Request.Body)
	if err != nil {
		return err
	}
	outcomes, err := a.svc.FileBatch(c.Request.Context(), caller, filings)
	if err != nil {
		return err
	}
	a.renderBatch(c, caller, outcomes, "filing", func(int) (auth.Action, string) { return auth.FileRegistration, "" }, func(r registry.Registration) any {
		return &filedSummary{Number: r.Number, RegisteredAt: r.RegisteredAt, ExpiresAt: r.ExpiresAt, Version: r.Version, ModificationCode: r.ModificationCode}
	})
	return nil
}

// changeBatch handles POST /registrations/changes: up to 1,000 extensions,
// cancellations and amendments, each made or refused on its own exactly as
// alone, with fileBatch's answer.
func (a *api) changeBatch(c *gin.Context, caller registry.Caller) error {
	changes, err := decodeChanges(c.Request.Body)
	if err != nil {
		return err
	}
	outcomes, err := a.svc.ChangeBatch(c.Request.Context(), caller, changes)
	if err != nil {
		return err
	}
	a.renderBatch(c, caller, outcomes, "change", func(i int) (auth.Action, string) {
		switch ch := changes[i]; {
		case ch.Extension != nil && ch.Cancellation == nil && ch.Amendment == nil:
			return auth.ExtendRegistration, ch.Number
		case ch.Cancellation != nil && ch.Extension == nil && ch.Amendment == nil:
			return auth.CancelRegistration, ch.Number
		case ch.Amendment != nil && ch.Extension == nil && ch.Cancellation == nil:
			return auth.AmendRegistration, ch.Number
		}
		return auth.ChangeRegistrations, changes[i].Number
	}, func(r registry.Registration) any {
		s := &changedSummary{Number: r.Number, Status: r.Status, ExpiresAt: r.ExpiresAt, Version: r.Version, LogIndex: r.LogIndex}
		if n := len(r.History); n > 0 {
			s.EventNumber = r.History[n-1].Number
		}
		return s
	})
	return nil
}

// renderBatch answers a bulk request 200 with each row's outcome in its
// place: a refusal is audited as the row's action on its target (row(i))
// alone would be; the rows the request's time did not reach are answered 503 and
// audited once, together.
func (a *api) renderBatch(c *gin.Context, caller registry.Caller, outcomes []registry.BatchOutcome, noun string,
	row func(i int) (auth.Action, string), summary func(registry.Registration) any) {
	results := make([]batchResult, len(outcomes))
	late := 0
	for i, o := range outcomes {
		if o.Err == nil {
			results[i] = batchResult{Index: i, Status: http.StatusCreated, Registration: summary(o.Registration)}
			continue
		}
		p := httpx.ProblemFor(o.Err)
		p.RequestID = caller.RequestID
		results[i] = batchResult{Index: i, Status: p.Status, Problem: p}
		if p.Status == http.StatusServiceUnavailable {
			// Not reached, or cut short, by the request's time: one entry
			// below says how many, where one each would take the time the
			// answer has left.
			late++
			continue
		}
		if p.Status >= 500 {
			a.log.Error("a row of a bulk request failed", "error", o.Err, "index", i, "request_id", caller.RequestID)
		}
		action, target := row(i)
		if aerr := a.opts.Refusals.Record(c.Request.Context(), caller, action, target, p, "bulk, "+noun+" "+strconv.Itoa(i)); aerr != nil {
			a.log.Error("audit entry not written", "error", aerr, "request_id", caller.RequestID)
		}
	}
	if late > 0 {
		a.log.Warn("a bulk request ran out of time", "unavailable", late, "request_id", caller.RequestID)
		p := httpx.ProblemFor(registry.ErrNotReached)
		action, _ := row(0)
		if aerr := a.opts.Refusals.Record(c.Request.Context(), caller, action, "", p, "bulk, "+strconv.Itoa(late)+" rows not made in time"); aerr != nil {
			a.log.Error("audit entry not written", "error", aerr, "request_id", caller.RequestID)
		}
	}
	a.render(c, http.StatusOK, map[string]any{"results": results})
}
