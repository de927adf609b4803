package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/registry"
)

// fileObjection handles POST /registrations/{number}/objections.
func (s *site) fileObjection(w http.ResponseWriter, r *http.Request, c *call) error {
	req := registry.ObjectionRequest{Statement: strings.TrimSpace(r.PostFormValue("statement")), Interest: strings.TrimSpace(r.PostFormValue("interest"))}
	idempotent(r, c)
	return s.change(w, r, c, auth.FileObjection, "objection", "objection_filed", url.Values{"statement": {req.Statement}, "interest": {req.Interest}}, nil, func(number string, _ registry.Precondition) error {
		_, err := s.svc.FileObjection(c.ctx(), c.caller, number, req)
		return err
	})
}

// withdrawObjection handles POST /registrations/{number}/objections/{objection}/withdrawal,
// once confirmed.
func (s *site) withdrawObjection(w http.ResponseWriter, r *http.Request, c *call) error {
	if ok, err := s.confirmed(w, r, c, "withdraw", auth.WithdrawObjection); !ok {
		return err
	}
	return s.change(w, r, c, auth.WithdrawObjection, "withdraw", "objection_withdrawn", nil, nil, func(number string, _ registry.Precondition) error {
		_, err := s.svc.WithdrawObjection(c.ctx(), c.caller, number, r.PathValue("objection"))
		return err
	})
}

// caseNotice handles POST /registrations/{number}/objections/{objection}/case-notice.
func (s *site) caseNotice(w http.ResponseWriter, r *http.Request, c *call) error {
	req := registry.CaseNoticeRequest{Court: strings.TrimSpace(r.PostFormValue("court")), CaseNumber: strings.TrimSpace(r.PostFormValue("case_number")), AcceptedOn: r.PostFormValue("accepted_on")}
	form := url.Values{"court": {req.Court}, "case_number": {req.CaseNumber}, "accepted_on": {req.AcceptedOn}, "objection": {r.PathValue("objection")}}
	return s.change(w, r, c, auth.SubmitCaseNotice, "case", "case_notice", form, nil, func(number string, _ registry.Precondition) error {
		_, err := s.svc.SubmitCaseNotice(c.ctx(), c.caller, number, r.PathValue("objection"), req)
		return err
	})
}
