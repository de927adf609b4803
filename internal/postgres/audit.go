package postgres

import (
	"context"
	"database/sql"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/registry"
)

// InsertAudit appends one audit entry. Its id and chain value come from
// audit_head in the same statement, so ids have no gaps and follow commit
// order; the head's row lock is held until the transaction ends.
func (s *Store) InsertAudit(ctx context.Context, e audit.Entry) error {
	if s.buf == nil {
		return s.alone(ctx, func(tx *Store) error { return tx.InsertAudit(ctx, e) })
	}
	e = e.Clean()
	e.At = e.At.UTC().Truncate(time.Microsecond)
	s.buf.audits = append(s.buf.audits, e)
	return nil
}

const auditColumns = "id, at, actor, user_id, organization_id, action, target, outcome, source, request_id, detail, chain"

func (s *Store) auditQuery(ctx context.Context, f audit.Filter) *gorm.DB {
	q := s.q(ctx).Table("audit_entries").Select(auditColumns).Order("id DESC")
	if f.Actor != "" {
		if _, err := uuid.Parse(f.Actor); err == nil {
			q = q.Where("user_id = ?", f.Actor)
		} else {
			q = q.Where("actor = ?", f.Actor)
		}
	}
	if f.OrganizationID != "" {
		q = q.Where("organization_id = ?", f.OrganizationID)
	}
	if f.ActorEmail != "" {
		q = q.Where("user_id IN (SELECT id FROM users WHERE lower(email) = lower(?))", f.ActorEmail)
	}
	if f.OrganizationName != "" {
		q = q.Where("organization_id IN (SELECT id FROM organizations WHERE strpos(lower(name), lower(?)) > 0)", f.OrganizationName)
	}
	if len(f.Actions) > 0 {
		q = q.Where("action IN ?", f.Actions)
	}
	if f.Target != "" {
		q = q.Where("target = ?", f.Target)
	}
	if f.Outcome != "" {
		q = q.Where("outcome = ?", string(f.Outcome))
	}
	if f.From != nil {
		q = q.Where("at >= ?", *f.From)
	}
	if f.To != nil {
		q = q.Where("at < ?", *f.To)
	}
	if f.Before > 0 {
		q = q.Where("id < ?", f.Before)
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	return q
}

func scanAudit(rows *sql.Rows) (audit.Record, error) {
	var r audit.Record
	var actor, outcome string
	var user, org sql.NullString
	err := rows.Scan(&r.ID, &r.At, &actor, &user, &org, &r.Action, &r.Target, &outcome, &r.Source, &r.RequestID, &r.Detail, &r.Chain)
	r.At = r.At.UTC()
	r.Actor, r.Outcome, r.UserID, r.OrganizationID = audit.ActorKind(actor), audit.Outcome(outcome), user.String, org.String
	return r, err
}

// Audit returns one page of the trail, newest first.
func (s *Store) Audit(ctx context.Context, f audit.Filter) ([]audit.Record, error) {
	return readOn(s, ctx, -1, func(v *Store) ([]audit.Record, error) { return v.audit(ctx, f) })
}

// audit is Audit on s.
func (s *Store) audit(ctx context.Context, f audit.Filter) ([]audit.Record, error) {
	out := []audit.Record{}
	return out, s.StreamAudit(ctx, f, func(r audit.Record) error {
		out = append(out, r)
		return nil
	})
}

// StreamAudit hands fn the selected entries newest first, one row at a time
// as the database sends them, so that memory does not grow with the trail.
func (s *Store) StreamAudit(ctx context.Context, f audit.Filter, fn func(audit.Record) error) error {
	// On a replica when one holds what this instance has seen; read again
	// on the primary if it fails before the first entry went out.
	if rs := s.replicas; rs != nil && s.buf == nil && s.db == rs.primary {
		if r := rs.pick(ctx, s.floor()); r != nil {
			sent := false
			err := s.onReplica(r).streamAudit(ctx, f, func(rec audit.Record) error {
				sent = true
				return fn(rec)
			})
			if err == nil || sent || ctx.Err() != nil {
				return err
			}
			rs.failed(r, err)
		}
	}
	return s.streamAudit(ctx, f, fn)
}

// exportPage is how many entries an export reads at a time.
const exportPage = 1000

// streamAudit is StreamAudit on s. It reads a page of entries at a time
// (by id, below the last page's), each in a statement of its own, and
// hands them on with no connection held: a client that stops reading holds
// nothing of the database. The trail only grows at the top, so the pages
// are the trail as it stood at the first.
func (s *Store) streamAudit(ctx context.Context, f audit.Filter, fn func(audit.Record) error) error {
	limit := f.Limit
	for sent := 0; ; {
		page := f
		page.Limit = exportPage
		if limit > 0 {
			page.Limit = min(exportPage, limit-sent)
		}
		records, err := auditRows(s.auditQuery(ctx, page))
		if err != nil {
			return err
		}
		for _, r := range records {
			if err := fn(r); err != nil {
				return err
			}
		}
		sent += len(records)
		if len(records) < page.Limit || (limit > 0 && sent >= limit) {
			return nil
		}
		f.Before = records[len(records)-1].ID
	}
}

// AuditNames says who each of ids is that is a user's or an organization's
// id, in one query for all of them: a page of the trail names its people
// without a query per row.
func (s *Store) AuditNames(ctx context.Context, ids []string) (map[string]registry.AuditName, error) {
	return readOn(s, ctx, -1, func(v *Store) (map[string]registry.AuditName, error) { return v.auditNames(ctx, ids) })
}

// auditNames is AuditNames on s.
func (s *Store) auditNames(ctx context.Context, ids []string) (map[string]registry.AuditName, error) {
	out := map[string]registry.AuditName{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		ID, DisplayName, Email, OrganizationName string
	}
	err := s.q(ctx).Raw(`SELECT u.id::text AS id, u.display_name, u.email, o.name AS organization_name
			FROM users u JOIN organizations o ON o.id = u.organization_id WHERE u.id IN ?
		UNION ALL
		SELECT id::text, '', '', name FROM organizations WHERE id IN ?`, ids, ids).Scan(&rows).Error
	for _, r := range rows {
		out[r.ID] = registry.AuditName{DisplayName: r.DisplayName, Email: r.Email, OrganizationName: r.OrganizationName}
	}
	return out, translate(err)
}

// AuditHead is the trail's newest committed entry: its id and chain value.
func (s *Store) AuditHead(ctx context.Context) (registry.AuditHead, error) {
	var h registry.AuditHead
	err := s.q(ctx).Raw("SELECT seq, hash FROM audit_head").Row().Scan(&h.Seq, &h.Chain)
	return h, translate(err)
}

// AuditAfter hands fn the entries after id after, up to upTo, oldest first,
// exportPage at a time.
func (s *Store) AuditAfter(ctx context.Context, after, upTo int64, fn func(audit.Record) error) error {
	for after < upTo {
		records, err := auditRows(s.q(ctx).Raw("SELECT "+auditColumns+" FROM audit_entries WHERE id > ? AND id <= ? ORDER BY id LIMIT ?", after, upTo, exportPage))
		if err != nil {
			return err
		}
		if len(records) == 0 {
			return nil
		}
		for _, r := range records {
			if err := fn(r); err != nil {
				return err
			}
		}
		after = records[len(records)-1].ID
	}
	return nil
}

// auditRows runs a query of auditColumns and reads every entry it gives,
// holding its connection no longer than that.
func auditRows(q *gorm.DB) ([]audit.Record, error) {
	rows, err := q.Rows()
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var records []audit.Record
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		records = append(records, r)
	}
	return records, translate(rows.Err())
}
