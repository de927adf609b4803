package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/registry"
)

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// InsertAudit appends one audit entry.
func (s *Store) InsertAudit(ctx context.Context, e audit.Entry) error {
	return translate(s.db.WithContext(ctx).Exec(
		`INSERT INTO audit_entries (at, actor, user_id, organization_id, action, target, outcome, source, request_id, detail)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.At, string(e.Actor), nullable(e.UserID), nullable(e.OrganizationID), e.Action, e.Target, string(e.Outcome), e.Source, e.RequestID, e.Detail).Error)
}

// InsertOrganization stores a new organization and sets its id; a USCC that
// is already registered is registry.ErrConflict.
func (s *Store) InsertOrganization(ctx context.Context, o *registry.Organization) error {
	o.ID = uuid.NewString()
	return translate(s.db.WithContext(ctx).Exec(
		"INSERT INTO organizations (id, name, uscc, kind, status) VALUES (?, ?, ?, ?, ?)",
		o.ID, o.Name, o.USCC, o.Kind, o.Status).Error)
}

// Organization loads an organization by id.
func (s *Store) Organization(ctx context.Context, id string) (registry.Organization, error) {
	var o registry.Organization
	if uuid.Validate(id) != nil {
		return o, registry.ErrNotFound
	}
	res := s.db.WithContext(ctx).Raw("SELECT id, name, uscc, kind, status FROM organizations WHERE id = ?", id).Scan(&o)
	if res.Error == nil && res.RowsAffected == 0 {
		return o, registry.ErrNotFound
	}
	return o, translate(res.Error)
}

type userRow struct {
	ID             string
	OrganizationID string
	Email          string
	DisplayName    string
	Roles          string
	PasswordHash   string
}

func (r userRow) toDomain() registry.User {
	return registry.User{ID: r.ID, OrganizationID: r.OrganizationID, Email: r.Email, DisplayName: r.DisplayName, Roles: splitRoles(r.Roles)}
}

func splitRoles(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

const userColumns = "id, organization_id, email, display_name, array_to_string(roles, ',') AS roles, password_hash"

// InsertUser stores a new user and sets its id; a taken email is registry.ErrConflict.
func (s *Store) InsertUser(ctx context.Context, u *registry.User, passwordHash string) error {
	u.ID = uuid.NewString()
	return translate(s.db.WithContext(ctx).Exec(
		"INSERT INTO users (id, organization_id, email, display_name, roles, password_hash) VALUES (?, ?, ?, ?, string_to_array(?, ','), ?)",
		u.ID, u.OrganizationID, u.Email, u.DisplayName, strings.Join(u.Roles, ","), passwordHash).Error)
}

func (s *Store) user(ctx context.Context, where string, arg any) (userRow, error) {
	var r userRow
	res := s.db.WithContext(ctx).Raw("SELECT "+userColumns+" FROM users WHERE "+where, arg).Scan(&r)
	if res.Error == nil && res.RowsAffected == 0 {
		return r, registry.ErrNotFound
	}
	return r, translate(res.Error)
}

// User loads a user by id.
func (s *Store) User(ctx context.Context, id string) (registry.User, error) {
	if uuid.Validate(id) != nil {
		return registry.User{}, registry.ErrNotFound
	}
	r, err := s.user(ctx, "id = ?", id)
	return r.toDomain(), err
}

// UserCredentials loads a user and its password hash by email (stored in
// lower case), for sign-in; a user of an organization that is not active
// cannot sign in.
func (s *Store) UserCredentials(ctx context.Context, email string) (registry.User, string, error) {
	r, err := s.user(ctx, "email = lower(?) AND organization_id IN (SELECT id FROM organizations WHERE status = 'active')", email)
	return r.toDomain(), r.PasswordHash, err
}

// InsertToken stores a token's hash.
func (s *Store) InsertToken(ctx context.Context, userID string, hash []byte, expiresAt time.Time) error {
	return translate(s.db.WithContext(ctx).Exec(
		"INSERT INTO tokens (user_id, hash, expires_at) VALUES (?, ?, ?)", userID, hash, expiresAt).Error)
}

// TokenPrincipal finds the principal behind an unexpired token of a user whose
// organization is active.
func (s *Store) TokenPrincipal(ctx context.Context, hash []byte, now time.Time) (auth.Principal, error) {
	var r userRow
	res := s.db.WithContext(ctx).Raw(`
		SELECT u.id, u.organization_id, array_to_string(u.roles, ',') AS roles
		FROM tokens t JOIN users u ON u.id = t.user_id JOIN organizations o ON o.id = u.organization_id
		WHERE t.hash = ? AND t.expires_at > ? AND o.status = 'active'`, hash, now).Scan(&r)
	if res.Error != nil {
		return auth.Principal{}, translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return auth.Principal{}, registry.ErrUnauthenticated
	}
	p := auth.Principal{UserID: r.ID, OrganizationID: r.OrganizationID}
	for _, role := range splitRoles(r.Roles) {
		p.Roles = append(p.Roles, auth.Role(role))
	}
	return p, nil
}

// OrganizationByUSCC finds the account-holding organization with a USCC.
func (s *Store) OrganizationByUSCC(ctx context.Context, uscc string) (registry.Organization, error) {
	var o registry.Organization
	res := s.db.WithContext(ctx).Raw("SELECT id, name, uscc, kind, status FROM organizations WHERE uscc = ?", uscc).Scan(&o)
	if res.Error == nil && res.RowsAffected == 0 {
		return o, registry.ErrNotFound
	}
	return o, translate(res.Error)
}
