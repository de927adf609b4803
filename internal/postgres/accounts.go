package postgres

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/registry"
)

const orgColumns = "id, name, uscc, kind, status, id_number, address"

// InsertOrganization stores a new organization and sets its id; a USCC that
// is already registered is registry.ErrConflict.
func (s *Store) InsertOrganization(ctx context.Context, o *registry.Organization, at time.Time) error {
	o.ID = newID()
	return translate(s.w(ctx).Exec(
		"INSERT INTO organizations (id, name, uscc, kind, status, id_number, address, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		o.ID, o.Name, o.USCC, o.Kind, o.Status, o.IDNumber, o.Address, at).Error)
}

type orgRow struct {
	ID, Name, USCC, Kind, Status, IDNumber, Address string
}

func (r orgRow) toDomain() registry.Organization {
	return registry.Organization{ID: r.ID, Name: r.Name, USCC: r.USCC, Kind: r.Kind, Status: r.Status, IDNumber: r.IDNumber, Address: r.Address}
}

func (s *Store) organization(ctx context.Context, query string, args ...any) (registry.Organization, error) {
	var r orgRow
	res := s.q(ctx).Raw(query, args...).Scan(&r)
	if res.Error == nil && res.RowsAffected == 0 {
		return r.toDomain(), registry.ErrNotFound
	}
	return r.toDomain(), translate(res.Error)
}

// Organization loads an organization by id.
func (s *Store) Organization(ctx context.Context, id string) (registry.Organization, error) {
	if uuid.Validate(id) != nil {
		return registry.Organization{}, registry.ErrNotFound
	}
	return s.organization(ctx, "SELECT "+orgColumns+" FROM organizations WHERE id = ?", id)
}

// SetOrganizationStatus changes an organization's status if it is still from.
func (s *Store) SetOrganizationStatus(ctx context.Context, id, from, to string, at time.Time) (registry.Organization, error) {
	o, err := s.organization(ctx, "UPDATE organizations SET status = ?, status_changed_at = ? WHERE id = ? AND status = ? RETURNING "+orgColumns, to, at, id, from)
	if errors.Is(err, registry.ErrNotFound) {
		return o, registry.ErrConflict
	}
	return o, err
}

// ListOrganizations returns a page of organizations in id order, each with
// when it was made and its first user.
func (s *Store) ListOrganizations(ctx context.Context, status, after string, limit int) ([]registry.Organization, error) {
	q := keyset(s.q(ctx).Table("organizations o").
		Select("o.id, o.name, o.uscc, o.kind, o.status, o.id_number, o.address, o.created_at, a.id AS applicant_id, a.display_name AS applicant_name, a.email AS applicant_email").
		Joins("LEFT JOIN LATERAL (SELECT u.id, u.display_name, u.email FROM users u WHERE u.organization_id = o.id ORDER BY u.created_at, u.id LIMIT 1) a ON true"),
		"o.id", after, limit)
	if status != "" {
		q = q.Where("o.status = ?", status)
	}
	var rows []struct {
		ID, Name, USCC, Kind, Status, IDNumber, Address string
		CreatedAt                                       time.Time
		ApplicantID                                     *string
		ApplicantName                                   string
		ApplicantEmail                                  string
	}
	if err := q.Scan(&rows).Error; err != nil {
		return nil, translate(err)
	}
	out := make([]registry.Organization, len(rows))
	for i, r := range rows {
		at := registry.At(r.CreatedAt)
		out[i] = orgRow{ID: r.ID, Name: r.Name, USCC: r.USCC, Kind: r.Kind, Status: r.Status, IDNumber: r.IDNumber, Address: r.Address}.toDomain()
		out[i].CreatedAt = &at
		if r.ApplicantID != nil {
			out[i].Applicant = &registry.Applicant{ID: *r.ApplicantID, DisplayName: r.ApplicantName, Email: r.ApplicantEmail}
		}
	}
	return out, nil
}

type userRow struct {
	ID                 string
	OrganizationID     string
	Email              string
	DisplayName        string
	Roles              string
	PasswordHash       string
	Suspended          bool
	OrganizationStatus string
	OrganizationKind   string
	MustChangePassword bool
	NotifyEmail        bool
	Language           string
}

func (r userRow) toDomain() registry.User {
	status := registry.UserActive
	if r.Suspended {
		status = registry.UserSuspended
	}
	return registry.User{ID: r.ID, OrganizationID: r.OrganizationID, Email: r.Email, DisplayName: r.DisplayName, Roles: splitRoles(r.Roles), Status: status,
		NotifyEmail: r.NotifyEmail, Language: r.Language}
}

func splitRoles(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// userColumns are a user as shown; only sign-in reads the password hash.
const userColumns = "u.id, u.organization_id, u.email, u.display_name, array_to_string(u.roles, ',') AS roles, u.suspended_at IS NOT NULL AS suspended, u.notify_email, u.language"

// InsertUser stores a new user and sets its id; a taken email is registry.ErrConflict.
func (s *Store) InsertUser(ctx context.Context, u *registry.User, passwordHash string, at time.Time) error {
	u.ID = newID()
	if u.Language == "" {
		u.Language = "zh" // the column's default, as the answer shows it
	}
	return translate(s.w(ctx).Exec(
		"INSERT INTO users (id, organization_id, email, display_name, roles, password_hash, created_at, notify_email, language) VALUES (?, ?, ?, ?, string_to_array(?, ','), ?, ?, ?, ?)",
		u.ID, u.OrganizationID, u.Email, u.DisplayName, strings.Join(u.Roles, ","), passwordHash, at, u.NotifyEmail, u.Language).Error)
}

func (s *Store) user(ctx context.Context, query string, args ...any) (userRow, error) {
	var r userRow
	res := s.q(ctx).Raw(query, args...).Scan(&r)
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
	r, err := s.user(ctx, "SELECT "+userColumns+" FROM users u WHERE u.id = ?", id)
	return r.toDomain(), err
}

// SetUserStatus suspends or reinstates a user.
func (s *Store) SetUserStatus(ctx context.Context, id, status string, at time.Time) (registry.User, error) {
	var suspendedAt any
	if status == registry.UserSuspended {
		suspendedAt = at
	}
	r, err := s.user(ctx, "UPDATE users u SET suspended_at = ? WHERE u.id = ? RETURNING "+userColumns, suspendedAt, id)
	return r.toDomain(), err
}

// UpdateUser stores a user's roles, display name and notice settings.
func (s *Store) UpdateUser(ctx context.Context, u registry.User) (registry.User, error) {
	r, err := s.user(ctx, "UPDATE users u SET roles = string_to_array(?, ','), display_name = ?, notify_email = ?, language = ? WHERE u.id = ? RETURNING "+userColumns,
		strings.Join(u.Roles, ","), u.DisplayName, u.NotifyEmail, u.Language, u.ID)
	return r.toDomain(), err
}

// activeAdmins selects an organization's org_admins that can act: not
// suspended, not of a rejected sign-up.
const activeAdmins = "FROM users u WHERE u.organization_id = ? AND 'org_admin' = ANY (u.roles) AND u.suspended_at IS NULL AND u.released_at IS NULL"

// LockOrganizationAdmins returns the ids of an organization's active
// org_admins, each row locked until the transaction ends. A row another
// transaction changed meanwhile is read again after it commits, so that a
// user who lost the role there is not counted here.
func (s *Store) LockOrganizationAdmins(ctx context.Context, organizationID string) ([]string, error) {
	var ids []string
	err := s.w(ctx).Raw("SELECT u.id "+activeAdmins+" ORDER BY u.id FOR UPDATE", organizationID).Scan(&ids).Error
	return ids, translate(err)
}

// OrganizationAdmins lists an organization's active org_admins in id order.
func (s *Store) OrganizationAdmins(ctx context.Context, organizationID string) ([]registry.User, error) {
	var rows []userRow
	if err := s.q(ctx).Raw("SELECT "+userColumns+" "+activeAdmins+" ORDER BY u.id LIMIT 20", organizationID).Scan(&rows).Error; err != nil {
		return nil, translate(err)
	}
	out := make([]registry.User, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}

// ListUsers returns a page of users in id order, of one organization if given.
func (s *Store) ListUsers(ctx context.Context, organizationID, after string, limit int) ([]registry.User, error) {
	q := keyset(s.q(ctx).Table("users u").Select(userColumns), "u.id", after, limit)
	if organizationID != "" {
		q = q.Where("u.organization_id = ?", organizationID)
	}
	var rows []userRow
	if err := q.Scan(&rows).Error; err != nil {
		return nil, translate(err)
	}
	out := make([]registry.User, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}

// UserCredentials loads a user that is not suspended, its password hash and
// its organization's status, by email (stored in lower case).
func (s *Store) UserCredentials(ctx context.Context, email string) (registry.Credentials, error) {
	// A user whose email is held is that email's; failing that, the latest
	// of a rejected sign-up (released), so that the password's holder
	// hears that the sign-up was rejected rather than that it is unknown.
	r, err := s.user(ctx, "SELECT "+userColumns+", u.password_hash, u.must_change_password, o.status AS organization_status, o.kind AS organization_kind FROM users u JOIN organizations o ON o.id = u.organization_id WHERE u.email = lower(?) AND u.suspended_at IS NULL AND (u.released_at IS NULL OR o.status = 'rejected') ORDER BY u.released_at IS NULL DESC, u.released_at DESC LIMIT 1", email)
	return registry.Credentials{User: r.toDomain(), PasswordHash: r.PasswordHash, OrganizationStatus: r.OrganizationStatus, OrganizationKind: r.OrganizationKind,
		MustChangePassword: r.MustChangePassword}, err
}

// InsertToken stores a token's hash.
func (s *Store) InsertToken(ctx context.Context, userID string, hash []byte, at, expiresAt time.Time) error {
	return translate(s.w(ctx).Exec(
		"INSERT INTO tokens (id, user_id, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)", newID(), userID, hash, at, expiresAt).Error)
}

// touchEvery is how stale a token's last_used_at may grow before a use
// writes it again: one write a minute per token, not one a request.
const touchEvery = time.Minute

// TokenPrincipal finds the principal behind a live token: unexpired, not
// revoked, of a user that is not suspended, of an active organization, and
// never of a staff user outside the registry's own organizations (one left
// from before the rule).
func (s *Store) TokenPrincipal(ctx context.Context, hash []byte, now time.Time) (auth.Principal, error) {
	var r struct {
		TokenID, UserID, OrganizationID, OrganizationUSCC, OrganizationIDNumber, Roles string
		LastUsed                                                                       *time.Time
		ExpiresAt                                                                      time.Time
	}
	// Every request with a token reads it: straight through pgx, with no
	// GORM statement built each time.
	err := s.readRow(ctx, `
		SELECT t.id::text, t.last_used_at, t.expires_at, u.id::text, u.organization_id::text, COALESCE(o.uscc, ''), COALESCE(o.id_number, ''),
		       array_to_string(u.roles, ',')
		FROM tokens t JOIN users u ON u.id = t.user_id JOIN organizations o ON o.id = u.organization_id
		WHERE t.hash = $1 AND t.expires_at > $2 AND t.revoked_at IS NULL AND u.suspended_at IS NULL AND o.status = 'active'
		  AND (o.kind = 'registry' OR NOT u.roles && ARRAY['admin', 'auditor'])
		  AND (o.kind <> 'individual' OR NOT u.roles && ARRAY['registrant'])`, []any{hash, now},
		&r.TokenID, &r.LastUsed, &r.ExpiresAt, &r.UserID, &r.OrganizationID, &r.OrganizationUSCC, &r.OrganizationIDNumber, &r.Roles)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.Principal{}, registry.ErrUnauthenticated
	}
	if err != nil {
		return auth.Principal{}, translate(err)
	}
	if r.LastUsed == nil || now.Sub(*r.LastUsed) >= touchEvery {
		if err := s.w(ctx).Exec("UPDATE tokens SET last_used_at = ? WHERE id = ?", now, r.TokenID).Error; err != nil {
			return auth.Principal{}, translate(err)
		}
	}
	p := auth.Principal{UserID: r.UserID, OrganizationID: r.OrganizationID, OrganizationUSCC: r.OrganizationUSCC, OrganizationIDNumber: r.OrganizationIDNumber, TokenID: r.TokenID, ExpiresAt: r.ExpiresAt}
	for _, role := range splitRoles(r.Roles) {
		p.Roles = append(p.Roles, auth.Role(role))
	}
	return p, nil
}

// ListTokens returns a page of a user's live tokens in id order.
func (s *Store) ListTokens(ctx context.Context, userID string, now time.Time, after string, limit int) ([]registry.TokenInfo, error) {
	q := keyset(s.q(ctx).Table("tokens").Select("id, user_id, created_at, expires_at, last_used_at"), "id", after, limit).
		Where("user_id = ? AND revoked_at IS NULL AND expires_at > ?", userID, now)
	var rows []struct {
		ID, UserID           string
		CreatedAt, ExpiresAt time.Time
		LastUsedAt           *time.Time
	}
	if err := q.Scan(&rows).Error; err != nil {
		return nil, translate(err)
	}
	out := make([]registry.TokenInfo, len(rows))
	for i, r := range rows {
		out[i] = registry.TokenInfo{ID: r.ID, UserID: r.UserID, CreatedAt: registry.At(r.CreatedAt), ExpiresAt: registry.At(r.ExpiresAt)}
		if r.LastUsedAt != nil {
			t := registry.At(*r.LastUsedAt)
			out[i].LastUsedAt = &t
		}
	}
	return out, nil
}

// RevokeTokensOf revokes the live tokens of a user or of a whole organization.
func (s *Store) RevokeTokensOf(ctx context.Context, organizationID, userID string, at time.Time) error {
	q := "UPDATE tokens SET revoked_at = ? WHERE revoked_at IS NULL AND expires_at > ? AND "
	var who any = userID
	if organizationID != "" {
		q += "user_id IN (SELECT id FROM users WHERE organization_id = ?)"
		who = organizationID
	} else {
		q += "user_id = ?"
	}
	return translate(s.w(ctx).Exec(q, at, at, who).Error)
}

// TokenOwner returns the id of a token's user.
func (s *Store) TokenOwner(ctx context.Context, id string) (string, error) {
	var owner string
	res := s.q(ctx).Raw("SELECT user_id FROM tokens WHERE id = ?", id).Scan(&owner)
	if res.Error == nil && res.RowsAffected == 0 {
		return "", registry.ErrNotFound
	}
	return owner, translate(res.Error)
}

// RevokeToken stops a token; a revoked token keeps its first revocation time.
func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time) error {
	return translate(s.w(ctx).Exec("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", at, id).Error)
}

// OrganizationByUSCC finds the account-holding organization with a USCC
// (a rejected sign-up holds none).
func (s *Store) OrganizationByUSCC(ctx context.Context, uscc string) (registry.Organization, error) {
	return s.organization(ctx, "SELECT "+orgColumns+" FROM organizations WHERE uscc = ? AND uscc <> '' AND status <> 'rejected'", uscc)
}

// RejectOrganization rejects a pending sign-up: the organization's USCC and
// its users' emails are free again, and nobody in it can ever sign in.
func (s *Store) RejectOrganization(ctx context.Context, id, note string, at time.Time) (registry.Organization, error) {
	o, err := s.organization(ctx, "UPDATE organizations SET status = 'rejected', status_changed_at = ?, status_note = ? WHERE id = ? AND status = 'pending' RETURNING "+orgColumns, at, note, id)
	if errors.Is(err, registry.ErrNotFound) {
		return o, registry.ErrConflict
	}
	if err != nil {
		return o, err
	}
	if err := s.w(ctx).Exec("UPDATE users SET released_at = ? WHERE organization_id = ? AND released_at IS NULL", at, id).Error; err != nil {
		return o, translate(err)
	}
	return o, s.RevokeTokensOf(ctx, id, "", at)
}

// StaffOutsideRegistry lists the users that hold a staff role (admin,
// auditor) in an organization that is not the registry's own: left from
// before the rule, they can neither sign in nor use a token.
func (s *Store) StaffOutsideRegistry(ctx context.Context) ([]registry.User, error) {
	var rows []userRow
	err := s.q(ctx).Raw("SELECT " + userColumns + " FROM users u JOIN organizations o ON o.id = u.organization_id WHERE o.kind <> 'registry' AND u.roles && ARRAY['admin', 'auditor'] AND u.released_at IS NULL ORDER BY u.id").Scan(&rows).Error
	if err != nil {
		return nil, translate(err)
	}
	out := make([]registry.User, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}

// InsertFirstAdmin stores a user whose password the registry made and must
// be changed at the first sign-in (registryd bootstrap).
func (s *Store) InsertFirstAdmin(ctx context.Context, u *registry.User, passwordHash string, at time.Time) error {
	if err := s.InsertUser(ctx, u, passwordHash, at); err != nil {
		return err
	}
	return translate(s.w(ctx).Exec("UPDATE users SET must_change_password = true WHERE id = ?", u.ID).Error)
}

// SetPassword replaces a user's password hash; the password is then the
// user's own.
func (s *Store) SetPassword(ctx context.Context, userID, passwordHash string) error {
	return translate(s.w(ctx).Exec("UPDATE users SET password_hash = ?, must_change_password = false WHERE id = ?", passwordHash, userID).Error)
}

// RegistryOrganizations counts the registry's own organizations.
func (s *Store) RegistryOrganizations(ctx context.Context) (int, error) {
	var n int
	err := s.q(ctx).Raw("SELECT count(*) FROM organizations WHERE kind = 'registry' AND status <> 'rejected'").Scan(&n).Error
	return n, translate(err)
}

// TakeRate spends one request of key's limit (rate a second on average,
// bursts of burst), kept in the database so that every instance shares it:
// the generic cell rate algorithm, one statement, on the database's clock.
// It says how long until a refused request may come.
func (s *Store) TakeRate(ctx context.Context, key string, rate float64, burst int) (time.Duration, bool, error) {
	interval := time.Duration(float64(time.Second) / rate)
	tolerance := time.Duration(burst) * interval
	var taken []bool
	err := s.db.WithContext(ctx).Raw(`
		INSERT INTO rate_limits AS r (key, tat) VALUES (?, clock_timestamp() + ?::interval)
		ON CONFLICT (key) DO UPDATE SET tat = greatest(r.tat, clock_timestamp()) + ?::interval
		WHERE greatest(r.tat, clock_timestamp()) + ?::interval - clock_timestamp() <= ?::interval
		RETURNING true`, key, interval.String(), interval.String(), interval.String(), tolerance.String()).Scan(&taken).Error
	if err != nil {
		return 0, false, translate(err)
	}
	if len(taken) == 1 {
		return 0, true, nil
	}
	var wait float64
	err = s.db.WithContext(ctx).Raw(`SELECT EXTRACT(EPOCH FROM (tat + ?::interval - ?::interval - clock_timestamp())) FROM rate_limits WHERE key = ?`,
		interval.String(), tolerance.String(), key).Scan(&wait).Error
	if err != nil {
		return 0, false, translate(err)
	}
	return max(time.Duration(wait*float64(time.Second)), time.Millisecond), false, nil
}

// SignInFailures returns how often sign-ins under key have failed, and
// when last (zero and no time when never, or forgotten).
func (s *Store) SignInFailures(ctx context.Context, key string) (int, time.Time, error) {
	var rows []struct {
		Failures int
		LastAt   time.Time
	}
	if err := s.db.WithContext(ctx).Raw("SELECT failures, last_at FROM sign_in_failures WHERE key = ?", key).Scan(&rows).Error; err != nil {
		return 0, time.Time{}, translate(err)
	}
	if len(rows) == 0 {
		return 0, time.Time{}, nil
	}
	return rows[0].Failures, rows[0].LastAt, nil
}

// FailSignIn counts a failed sign-in under key at at; a count older than
// forgetAfter starts again.
func (s *Store) FailSignIn(ctx context.Context, key string, at time.Time, forgetAfter time.Duration) error {
	return translate(s.db.WithContext(ctx).Exec(`
		INSERT INTO sign_in_failures AS f (key, failures, last_at) VALUES (?, 1, ?)
		ON CONFLICT (key) DO UPDATE SET failures = CASE WHEN f.last_at < ?::timestamptz - ?::interval THEN 1 ELSE f.failures + 1 END, last_at = EXCLUDED.last_at`,
		key, at, at, forgetAfter.String()).Error)
}

// ClearSignIn forgets key's failures.
func (s *Store) ClearSignIn(ctx context.Context, key string) error {
	return translate(s.db.WithContext(ctx).Exec("DELETE FROM sign_in_failures WHERE key = ?", key).Error)
}
