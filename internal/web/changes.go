package web

import (
	"cmp"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/bulkcsv"
	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/registry"
)

// changesPage is the bulk changes page: the organization's effective
// registrations to choose from, and, once a form is sent, each change's
// outcome.
type changesPage struct {
	Key     string
	Reasons []string
	Columns []string
	Page    registry.RegistrationPage
	Next    string
	Rows    []changeRow
	Made    int
}

// changeRow is one change's outcome: the registration as it left it, or
// why it was refused.
type changeRow struct {
	Row    int
	Number string
	// Outcome says in words what became of the change: extended,
	// cancelled, amended, or refused (changes.outcome.*).
	Outcome string
	// Code is the HTTP status the API answers the same change with (201,
	// or the refusal's), shown small beside the words for whoever
	// compares the page with the API.
	Code     int
	Status   string
	Version  int
	Problems []string
}

// changeOutcome is the word for what a change made, once made.
func changeOutcome(ch registry.Change) string {
	switch {
	case ch.Extension != nil:
		return "extended"
	case ch.Cancellation != nil:
		return "cancelled"
	}
	return "amended"
}

// changesForm handles GET /registrations/changes?cursor=.
func (s *site) changesForm(w http.ResponseWriter, r *http.Request, c *call) error {
	if !c.caller.Can(auth.ChangeRegistrations) {
		c.audited(auth.ChangeRegistrations, "")
		return registry.Forbidden(c.caller.Principal, auth.ChangeRegistrations)
	}
	page, err := s.changesPage(c, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	s.renderForm(w, c, http.StatusOK, "changes", page, url.Values{"op": {"extend"}, "period_months": {"12"}}, nil)
	return nil
}

// changesPage reads a page of the organization's effective registrations.
func (s *site) changesPage(c *call, cursor string) (changesPage, error) {
	c.audited(auth.ListRegistrations, "")
	list, err := s.svc.Registrations(c.ctx(), c.caller, registry.ListRequest{Controller: "mine", Status: registry.StatusEffective, Cursor: cursor})
	if err != nil {
		return changesPage{}, err
	}
	return changesPage{Key: newSecret(), Reasons: registry.CancellationReasons, Columns: bulkcsv.ChangeColumns, Page: list,
		Next: nextPage("/registrations/changes", url.Values{}, list.NextCursor)}, nil
}

// changeBatch handles POST /registrations/changes: the registrations ticked
// extended by the same months, or cancelled for the same reason; or a CSV of
// amendments. Each is made or refused on its own; sending the same form
// again (a reload) makes nothing twice.
func (s *site) changeBatch(w http.ResponseWriter, r *http.Request, c *call) error {
	c.audited(auth.ChangeRegistrations, "")
	page, err := s.changesPage(c, "")
	if err != nil {
		return err
	}
	page.Key = r.PostFormValue("idempotency_key")
	form := url.Values{"op": {cmp.Or(r.PostFormValue("op"), "extend")}, "period_months": {cmp.Or(r.PostFormValue("period_months"), "12")},
		"reason": {r.PostFormValue("reason")}, "note": {r.PostFormValue("note")}}
	changes, err := s.readChanges(r)
	if err != nil {
		return s.formFailed(w, c, "changes", page, form, "", err)
	}
	idempotent(r, c)
	outcomes, err := s.svc.ChangeBatch(c.ctx(), c.caller, changes)
	if err != nil {
		return s.formFailed(w, c, "changes", page, form, "", err)
	}
	for _, o := range outcomes {
		row := changeRow{Row: o.Index + 1, Number: changes[o.Index].Number}
		if o.Err == nil {
			// Each change made is a new event: the API answers its row 201.
			row.Outcome, row.Code = changeOutcome(changes[o.Index]), http.StatusCreated
			row.Status, row.Version = o.Registration.Status, o.Registration.Version
			page.Made++
		} else {
			row.Outcome, row.Code = "refused", httpx.ProblemFor(o.Err).Status
			row.Problems = s.rowProblems(c, o.Err)
			if r.MultipartForm != nil && errors.Is(o.Err, registry.ErrVersionMismatch) {
				// The version came from the file, not from this page.
				msg, _ := s.views.translate(c.lang, "changes.csv_stale", strings.Trim(changes[o.Index].IfMatch, `"`))
				row.Problems = []string{msg}
			}
		}
		page.Rows = append(page.Rows, row)
	}
	// The list below shows the registrations as the changes left them.
	fresh, err := s.changesPage(c, "")
	if err != nil {
		return err
	}
	page.Page, page.Next = fresh.Page, fresh.Next
	s.renderForm(w, c, http.StatusOK, "changes", page, form, nil)
	return nil
}

// readChanges reads what the form asks: a CSV file of amendments, or the
// registrations ticked ("number version" each) with one extension or
// cancellation for them all, checked once for them all.
func (s *site) readChanges(r *http.Request) ([]registry.Change, error) {
	if r.MultipartForm != nil {
		files := r.MultipartForm.File["file"]
		if len(files) != 1 {
			return nil, registry.Broke("file", registry.RuleRequired, "choose a CSV file")
		}
		f, err := files[0].Open()
		if err != nil {
			return nil, err
		}
		defer f.Close()
		raw, err := io.ReadAll(f)
		if err != nil {
			return nil, err
		}
		changes, err := bulkcsv.ReadAmendments(raw)
		if err != nil {
			return nil, registry.Invalid("file", registry.CodeInvalidField, err.Error())
		}
		return changes, nil
	}
	picked := r.PostForm["pick"]
	if len(picked) == 0 {
		return nil, registry.Broke("pick", registry.RuleAtLeastOne, "tick at least one registration")
	}
	var ext *registry.Extension
	var cancel *registry.Cancellation
	switch r.PostFormValue("op") {
	case "extend":
		months, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("period_months")))
		if err != nil {
			months = 0
		}
		ext = &registry.Extension{PeriodMonths: months}
		if err := ext.Validate(); err != nil {
			return nil, err
		}
	case "cancel":
		cancel = &registry.Cancellation{Reason: r.PostFormValue("reason"), Note: r.PostFormValue("note")}
		if err := cancel.Validate(); err != nil {
			return nil, err
		}
	default:
		return nil, registry.BrokeValue("op", registry.RuleNotOneOf, "must be extend or cancel", r.PostFormValue("op"))
	}
	changes := make([]registry.Change, len(picked))
	for i, p := range picked {
		number, version, _ := strings.Cut(p, " ")
		changes[i] = registry.Change{Number: number, Extension: ext, Cancellation: cancel}
		if version != "" {
			changes[i].IfMatch = `"` + version + `"`
		}
	}
	return changes, nil
}
