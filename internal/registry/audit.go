package registry

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/auth"
)

// AuditRequest filters the audit trail; every field is optional.
type AuditRequest struct {
	Actor, Organization, Target, Outcome, From, To, Cursor, Limit string
	// ActorEmail and OrganizationName find the people and organizations
	// that Actor and Organization name by id.
	ActorEmail, OrganizationName string
	// Actions selects entries of any of them.
	Actions []string
}

// maxAuditActions bounds how many actions one request may select.
const maxAuditActions = 100

// AuditEntry is an entry of the trail as the API shows it.
type AuditEntry struct {
	ID        int64      `json:"id"`
	At        Time       `json:"at"`
	Actor     AuditActor `json:"actor"`
	Action    string     `json:"action"`
	Target    string     `json:"target"`
	Outcome   string     `json:"outcome"`
	Source    string     `json:"source"`
	RequestID string     `json:"request_id"`
	Detail    string     `json:"detail,omitempty"`
	// TargetName names the user or organization whose id the target is.
	TargetName string `json:"target_name,omitempty"`
	// Chain is the audit chain's value at this entry (absent for entries
	// older than the chain).
	Chain []byte `json:"chain,omitempty"`
}

// AuditActor is who acted: by id as recorded, and by name and email as the
// register knows them now.
type AuditActor struct {
	Kind             string `json:"kind"`
	UserID           string `json:"user_id,omitempty"`
	OrganizationID   string `json:"organization_id,omitempty"`
	DisplayName      string `json:"display_name,omitempty"`
	Email            string `json:"email,omitempty"`
	OrganizationName string `json:"organization_name,omitempty"`
}

// AuditName is who an id in the trail is: a user (with its organization's
// name) or an organization (its name alone).
type AuditName struct {
	DisplayName, Email, OrganizationName string
}

// auditEntryOf shows an audit record.
func auditEntryOf(r audit.Record) AuditEntry {
	return AuditEntry{ID: r.ID, At: At(r.At), Actor: AuditActor{Kind: string(r.Actor), UserID: r.UserID, OrganizationID: r.OrganizationID},
		Action: r.Action, Target: r.Target, Outcome: string(r.Outcome), Source: r.Source, RequestID: r.RequestID, Detail: r.Detail, Chain: r.Chain}
}

// auditFilter validates an audit request.
func auditFilter(req AuditRequest, paged bool) (audit.Filter, error) {
	var p problems
	f := audit.Filter{Actor: req.Actor, OrganizationID: req.Organization, Outcome: audit.Outcome(req.Outcome),
		ActorEmail:       checkText(&p, "actor_email", req.ActorEmail, false, 254),
		OrganizationName: checkText(&p, "organization_name", req.OrganizationName, false, 200),
		Target:           checkText(&p, "target", req.Target, false, 500)}
	if len(req.Actions) > maxAuditActions {
		p.add("action", CodeInvalidField, fmt.Sprintf("at most %d actions", maxAuditActions))
	}
	for _, a := range req.Actions {
		if a = checkText(&p, "action", a, false, 100); a != "" && len(f.Actions) < maxAuditActions {
			f.Actions = append(f.Actions, a)
		}
	}
	switch audit.ActorKind(req.Actor) {
	case "", audit.UserActor, audit.BootstrapAdmin, audit.Anonymous, audit.System:
	default:
		if !isUUID(req.Actor) {
			p.add("actor", CodeInvalidField, "must be a user id or one of user, bootstrap_admin, anonymous, registry")
		}
	}
	if req.Organization != "" && !isUUID(req.Organization) {
		p.add("organization", CodeInvalidField, "must be an organization id")
	}
	switch f.Outcome {
	case "", audit.Success, audit.Denied, audit.Invalid, audit.Error:
	default:
		p.add("outcome", CodeInvalidField, "must be one of success, denied, invalid, error")
	}
	f.From, f.To = instant(&p, "from", req.From), instant(&p, "to", req.To)
	if paged {
		var after string
		f.Limit, after = readPage(&p, req.Limit, req.Cursor, func(k string) bool {
			n, err := strconv.ParseInt(k, 10, 64)
			return err == nil && n > 0
		})
		f.Before, _ = strconv.ParseInt(after, 10, 64)
	}
	return f, p.err()
}

func instant(p *problems, field, v string) *time.Time {
	if v == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		p.broke(field, RuleDate, "must be a time in RFC 3339 form, such as 2026-11-26T08:00:00+08:00")
		return nil
	}
	return &t
}

// Audit returns one page of the audit trail, newest first.
func (s *Service) Audit(ctx context.Context, c Caller, req AuditRequest) (Page[AuditEntry], error) {
	if err := allow(c, auth.ReadAudit); err != nil {
		return Page[AuditEntry]{}, err
	}
	f, err := auditFilter(req, true)
	if err != nil {
		return Page[AuditEntry]{}, err
	}
	limit := f.Limit
	f.Limit++
	records, err := s.store.Audit(ctx, f)
	if err != nil {
		return Page[AuditEntry]{}, err
	}
	entries := make([]AuditEntry, len(records))
	for i, r := range records {
		entries[i] = auditEntryOf(r)
	}
	if err := s.nameAudit(ctx, entries); err != nil {
		return Page[AuditEntry]{}, err
	}
	return pageOf(entries, limit, func(e AuditEntry) string { return strconv.FormatInt(e.ID, 10) }), nil
}

// nameAudit puts names to the ids of a page of entries (actors, their
// organizations, and targets that are ids), asking the store once.
func (s *Service) nameAudit(ctx context.Context, entries []AuditEntry) error {
	seen := map[string]bool{}
	var ids []string
	for _, e := range entries {
		for _, id := range []string{e.Actor.UserID, e.Actor.OrganizationID, e.Target} {
			if !seen[id] && isUUID(id) {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	names, err := s.store.AuditNames(ctx, ids)
	if err != nil {
		return err
	}
	for i := range entries {
		e := &entries[i]
		if n, ok := names[e.Actor.UserID]; ok {
			e.Actor.DisplayName, e.Actor.Email = n.DisplayName, n.Email
		}
		if n, ok := names[e.Actor.OrganizationID]; ok {
			e.Actor.OrganizationName = n.OrganizationName
		}
		if n, ok := names[e.Target]; ok {
			e.TargetName = n.DisplayName
			if e.TargetName == "" {
				e.TargetName = n.OrganizationName
			}
		}
	}
	return nil
}

// ExportAudit hands fn every entry the request selects, newest first, as the
// database streams them. The export itself is recorded first, so it appears
// in what it exports.
func (s *Service) ExportAudit(ctx context.Context, c Caller, req AuditRequest, fn func(audit.Record) error) error {
	if err := allow(c, auth.ExportAudit); err != nil {
		return err
	}
	f, err := auditFilter(req, false)
	if err != nil {
		return err
	}
	e := s.entry(c, auth.ExportAudit, "", s.clock())
	e.Detail = fmt.Sprintf("actor=%q organization=%q action=%q target=%q outcome=%q from=%q to=%q",
		req.Actor, req.Organization, strings.Join(req.Actions, ","), req.Target, req.Outcome, req.From, req.To)
	if req.ActorEmail != "" || req.OrganizationName != "" {
		e.Detail += fmt.Sprintf(" actor_email=%q organization_name=%q", req.ActorEmail, req.OrganizationName)
	}
	if err := s.store.InsertAudit(ctx, e); err != nil {
		return err
	}
	return s.store.StreamAudit(ctx, f, fn)
}

// AuditStore keeps the audit trail.
type AuditStore interface {
	InsertAudit(ctx context.Context, e audit.Entry) error
	// Audit returns the entries f selects, newest first; StreamAudit hands
	// them to fn one at a time instead of holding them.
	Audit(ctx context.Context, f audit.Filter) ([]audit.Record, error)
	// AuditNames says who each of ids is that is a user's or an
	// organization's id (ids that are neither are left out).
	AuditNames(ctx context.Context, ids []string) (map[string]AuditName, error)
	StreamAudit(ctx context.Context, f audit.Filter, fn func(audit.Record) error) error
}
