package web

import (
	"errors"
	"io"
	"net/http"
	"sort"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/bulkcsv"
	"github.com/movable-registry/registry/internal/httpx"
	"github.com/movable-registry/registry/internal/registry"
)

// bulkPage is the bulk filing form and, once sent, each row's outcome.
type bulkPage struct {
	Key     string
	Columns []string
	Rows    []bulkRow
	Filed   int
}

// bulkRow is one row's outcome: its number, or why it was refused.
type bulkRow struct {
	Row      int
	Number   string
	Problems []string
}

// bulkForm handles GET /registrations/bulk.
func (s *site) bulkForm(w http.ResponseWriter, r *http.Request, c *call) error {
	if !c.caller.Can(auth.FileRegistration) {
		c.audited(auth.FileRegistration, "")
		return registry.Forbidden(c.caller.Principal, auth.FileRegistration)
	}
	s.render(w, c, http.StatusOK, "bulk", bulkPage{Key: newSecret(), Columns: bulkcsv.Columns})
	return nil
}

// bulkFile handles POST /registrations/bulk: a CSV of up to 1,000 filings,
// each filed or refused on its own; sending the same form again (a reload)
// files nothing twice.
func (s *site) bulkFile(w http.ResponseWriter, r *http.Request, c *call) error {
	c.audited(auth.FileRegistration, "")
	page := bulkPage{Key: r.PostFormValue("idempotency_key"), Columns: bulkcsv.Columns}
	var raw []byte
	if r.MultipartForm != nil {
		if files := r.MultipartForm.File["file"]; len(files) == 1 {
			f, err := files[0].Open()
			if err != nil {
				return err
			}
			raw, err = io.ReadAll(f)
			f.Close()
			if err != nil {
				return err
			}
		}
	}
	filings, err := bulkcsv.Read(raw)
	if err != nil {
		return s.formFailed(w, c, "bulk", page, nil, "", registry.Invalid("file", registry.CodeInvalidField, err.Error()))
	}
	idempotent(r, c)
	outcomes, err := s.svc.FileBatch(c.ctx(), c.caller, filings)
	if err != nil {
		return s.formFailed(w, c, "bulk", page, nil, "", err)
	}
	for _, o := range outcomes {
		row := bulkRow{Row: o.Index + 1}
		if o.Err == nil {
			row.Number = o.Registration.Number
			page.Filed++
		} else {
			row.Problems = s.rowProblems(c, o.Err)
		}
		page.Rows = append(page.Rows, row)
	}
	s.render(w, c, http.StatusOK, "bulk", page)
	return nil
}

// rowProblems says why a row of a bulk request was refused, in the page's
// language: each field's problem, or the refusal's.
func (s *site) rowProblems(c *call, err error) []string {
	var verr *registry.ValidationError
	if !errors.As(err, &verr) {
		p := httpx.ProblemFor(err)
		return []string{s.views.refusal(c.lang, p.Code, err)}
	}
	msgs := s.views.fieldErrors(c.lang, verr)
	fields := make([]string, 0, len(msgs))
	for f := range msgs {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	out := make([]string, 0, len(fields))
	for _, f := range fields {
		out = append(out, f+": "+msgs[f])
	}
	return out
}
