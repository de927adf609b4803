package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/registry"
)

// InsertSuccession stores a succession and, as the registrations it is to
// pass, those the predecessor controls (by its id, or by its USCC when
// control passed to it before it had an account) that are effective at its
// instant.
func (s *Store) InsertSuccession(ctx context.Context, succ *registry.Succession, predecessorUSCC string) error {
	var attachment *string
	if succ.Attachment != nil {
		b, err := json.Marshal(succ.Attachment)
		if err != nil {
			return err
		}
		a := string(b)
		attachment = &a
	}
	by, err := json.Marshal(requester{UserID: succ.RequestedBy.UserID, OrganizationID: succ.RequestedBy.OrganizationID,
		OrganizationUSCC: succ.RequestedBy.OrganizationUSCC, Bootstrap: succ.RequestedBy.Bootstrap})
	if err != nil {
		return err
	}
	db := s.w(ctx)
	if err := db.Exec(`INSERT INTO successions (id, predecessor_id, successor_id, basis, document_number, attachment,
			requested_by, requested_at, status, successor_address, successor_legal_representative)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)`,
		succ.ID, succ.PredecessorID, succ.SuccessorID, succ.Basis, succ.DocumentNumber, attachment,
		string(by), succ.RequestedAt.Time, succ.SuccessorAddress, succ.SuccessorLegalRepresentative).Error; err != nil {
		return translate(err)
	}
	res := db.Exec(`INSERT INTO succession_items (succession_id, registration_number)
		SELECT ?, number FROM registrations
		WHERE (controller_id = ? OR (controller_id IS NULL AND controller_uscc = ?))
		  AND status = ? AND expires_at > ?`,
		succ.ID, succ.PredecessorID, predecessorUSCC, registry.StatusEffective, succ.RequestedAt.Time)
	if res.Error != nil {
		return translate(res.Error)
	}
	succ.Total = int(res.RowsAffected)
	return nil
}

// requester is who asked for a succession, as stored: the principal its
// assignments are made as, an admin.
type requester struct {
	UserID           string `json:"user_id,omitempty"`
	OrganizationID   string `json:"organization_id,omitempty"`
	OrganizationUSCC string `json:"organization_uscc,omitempty"`
	Bootstrap        bool   `json:"bootstrap,omitempty"`
}

// successionRow is a succession as stored, with its progress counted.
type successionRow struct {
	ID             string
	PredecessorID  string
	SuccessorID    string
	SuccessorUSCC  string `gorm:"column:successor_uscc"`
	Basis          string
	DocumentNumber string
	// The successor's details as its assignments name it.
	SuccessorAddress             string
	SuccessorLegalRepresentative string
	Attachment                   []byte
	RequestedBy                  []byte
	RequestedAt                  time.Time
	Status                       string
	FinishedAt                   *time.Time
	Total                        int
	Done                         int
	Failed                       int
}

const successionSQL = `SELECT s.id, s.predecessor_id, s.successor_id, o.uscc AS successor_uscc, s.basis, s.document_number,
		s.successor_address, s.successor_legal_representative, s.attachment, s.requested_by, s.requested_at, s.status, s.finished_at,
		(SELECT count(*) FROM succession_items i WHERE i.succession_id = s.id) AS total,
		(SELECT count(*) FROM succession_items i WHERE i.succession_id = s.id AND i.state = 'passed') AS done,
		(SELECT count(*) FROM succession_items i WHERE i.succession_id = s.id AND i.state = 'failed') AS failed
	FROM successions s JOIN organizations o ON o.id = s.successor_id`

func (r successionRow) toDomain() (registry.Succession, error) {
	out := registry.Succession{ID: r.ID, PredecessorID: r.PredecessorID, SuccessorID: r.SuccessorID, SuccessorUSCC: r.SuccessorUSCC,
		Basis: r.Basis, DocumentNumber: r.DocumentNumber, SuccessorAddress: r.SuccessorAddress,
		SuccessorLegalRepresentative: r.SuccessorLegalRepresentative, Status: r.Status, Total: r.Total, Done: r.Done, Failed: r.Failed,
		RequestedAt: registry.At(r.RequestedAt)}
	var by requester
	if err := json.Unmarshal(r.RequestedBy, &by); err != nil {
		return registry.Succession{}, err
	}
	out.RequestedBy = auth.Principal{UserID: by.UserID, OrganizationID: by.OrganizationID, OrganizationUSCC: by.OrganizationUSCC,
		Bootstrap: by.Bootstrap, Roles: []auth.Role{auth.Admin}}
	if r.FinishedAt != nil {
		at := registry.At(*r.FinishedAt)
		out.FinishedAt = &at
	}
	if r.Attachment != nil {
		out.Attachment = &registry.Attachment{}
		if err := json.Unmarshal(r.Attachment, out.Attachment); err != nil {
			return registry.Succession{}, err
		}
	}
	return out, nil
}

// Succession returns one with its progress.
func (s *Store) Succession(ctx context.Context, id string) (registry.Succession, error) {
	var rows []successionRow
	if err := s.q(ctx).Raw(successionSQL+" WHERE s.id = ?", id).Scan(&rows).Error; err != nil {
		return registry.Succession{}, translate(err)
	}
	if len(rows) == 0 {
		return registry.Succession{}, registry.ErrNotFound
	}
	return rows[0].toDomain()
}

// RunningSuccessions lists the successions still running, oldest first.
func (s *Store) RunningSuccessions(ctx context.Context) ([]registry.Succession, error) {
	var rows []successionRow
	if err := s.q(ctx).Raw(successionSQL + " WHERE s.status = 'running' ORDER BY s.requested_at, s.id").Scan(&rows).Error; err != nil {
		return nil, translate(err)
	}
	out := make([]registry.Succession, len(rows))
	for i, r := range rows {
		var err error
		if out[i], err = r.toDomain(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PendingSuccessionItems lists up to limit registrations a succession has
// yet to pass, in number order.
func (s *Store) PendingSuccessionItems(ctx context.Context, id string, limit int) ([]string, error) {
	var out []string
	err := s.q(ctx).Raw(`SELECT registration_number FROM succession_items WHERE succession_id = ? AND state = 'pending'
		ORDER BY registration_number LIMIT ?`, id, limit).Scan(&out).Error
	return out, translate(err)
}

// MarkSuccessionItem records a pending registration passed (eventNumber)
// or failed (problem).
func (s *Store) MarkSuccessionItem(ctx context.Context, id, number, eventNumber, problem string) error {
	state := "passed"
	if eventNumber == "" {
		state = "failed"
	}
	return affected(s.w(ctx).Exec(`UPDATE succession_items SET state = ?, event_number = ?, problem = ?
		WHERE succession_id = ? AND registration_number = ? AND state = 'pending'`,
		state, strPtr(eventNumber), strPtr(problem), id, number), registry.ErrConflict)
}

// FinishSuccession marks a succession done.
func (s *Store) FinishSuccession(ctx context.Context, id string, at time.Time) error {
	return translate(s.w(ctx).Exec(`UPDATE successions SET status = 'done', finished_at = ? WHERE id = ? AND status = 'running'`, at, id).Error)
}
