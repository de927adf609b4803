// Package auth holds principals, roles and the one table of which role may do
// which action.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// Role is what a user may do in the register.
type Role string

// The roles of the API (docs/api.md, Role).
const (
	Registrant Role = "registrant"
	Searcher   Role = "searcher"
	OrgAdmin   Role = "org_admin"
	Auditor    Role = "auditor"
	Admin      Role = "admin"
)

// System is the registry acting on its own clock. No user can hold it: it is
// not among Roles.
const System Role = "registry"

// Roles lists every role a user may hold, in the order they are documented.
var Roles = []Role{Registrant, Searcher, OrgAdmin, Auditor, Admin}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	for _, k := range Roles {
		if r == k {
			return true
		}
	}
	return false
}

// Action names one thing a principal may ask the registry to do. The same
// names appear in the audit trail.
type Action string

// The actions of the register.
const (
	CreateOrganization Action = "organization.create"
	// SignUp opens a pending organization with its first user.
	SignUp              Action = "organization.signup"
	ApproveOrganization Action = "organization.approve"
	SuspendOrganization Action = "organization.suspend"
	// RejectOrganization refuses a pending sign-up.
	RejectOrganization Action = "organization.reject"
	ListOrganizations  Action = "organization.list"
	CreateUser         Action = "user.create"
	ListUsers          Action = "user.list"
	UpdateUser         Action = "user.update"
	ListAdmins         Action = "user.admins" // who to ask for a role: one's own organization's org_admins
	SuspendUser        Action = "user.suspend"
	ReinstateUser      Action = "user.reinstate"
	IssueToken         Action = "token.create"
	SignIn             Action = "token.signin"
	ListTokens         Action = "token.list"
	RevokeToken        Action = "token.revoke"
	// ChangePassword is a user's change of its own password.
	ChangePassword Action = "user.password"
	// Bootstrap opens an empty register to its operator.
	Bootstrap          Action = "registry.bootstrap"
	ReadMe             Action = "me.read"
	FileRegistration   Action = "registration.file"
	ReadRegistration   Action = "registration.read"
	CancelRegistration Action = "registration.cancel"
	AmendRegistration  Action = "registration.amend"
	ExtendRegistration Action = "registration.extend"
	ListRegistrations  Action = "registration.list"
	// ChangeRegistrations is a bulk request of changes, each of which is
	// also checked as its own action.
	ChangeRegistrations Action = "registration.change_many"
	// StartSuccession passes every effective registration an organization
	// controls to its successor after a merger or division; each passes
	// as an AssignBySuccession. ReadSuccession follows its progress.
	StartSuccession    Action = "organization.succession"
	ReadSuccession     Action = "succession.read"
	AssignBySuccession Action = "registration.succession"
	// RotateModificationCode issues a registration a new modification code.
	RotateModificationCode Action = "registration.rotate_code"
	FileObjection          Action = "objection.file"
	WithdrawObjection      Action = "objection.withdraw"
	SubmitCaseNotice       Action = "objection.case_notice"
	Revoke                 Action = "registration.revoke"
	Search                 Action = "search.create"
	// IDNumberBurst records that a searcher reached the cap on searches by
	// identity number; only the registry records it.
	IDNumberBurst   Action = "search.id_number_burst"
	ReadSearch      Action = "search.read"
	ListSearches    Action = "search.list"
	ReadStatistics  Action = "statistics.read"
	Attach          Action = "attachment.create"
	ReadAttachment  Action = "attachment.read"
	ReadCertificate Action = "certificate.read"
	ReadAudit       Action = "audit.read"
	ExportAudit     Action = "audit.export"
	ReadCheckpoint  Action = "log.checkpoint"
	ReadLogEntries  Action = "log.entries"
	ReadLogProof    Action = "log.proof"
	ReadLogKey      Action = "log.key"
	ReadLogTiles    Action = "log.tiles"
	ReadLogEvent    Action = "log.event"
	ReadNotices     Action = "notice.read"
	MarkNoticeRead  Action = "notice.mark_read"
	CreateWatch     Action = "watch.create"
	ListWatches     Action = "watch.list"
	DeleteWatch     Action = "watch.delete"
	CreateWebhook   Action = "webhook.create"
	ListWebhooks    Action = "webhook.list"
	DeleteWebhook   Action = "webhook.delete"
	CreateDraft     Action = "draft.create"
	ListDrafts      Action = "draft.list"
	ReadDraft       Action = "draft.read"
	UpdateDraft     Action = "draft.update"
	DeleteDraft     Action = "draft.delete"
	FileDraft       Action = "draft.file"
	SaveParty       Action = "party.create"
	ListParties     Action = "party.list"
	DeleteParty     Action = "party.delete"
	// RecordExpiry and RecordLapse put into the log what the clock has
	// already made true; only the registry itself takes them.
	RecordExpiry Action = "registration.record_expiry"
	RecordLapse  Action = "objection.record_lapse"
	// EraseRegistration erases the personal data of individuals named by
	// a registration that ended longer ago than the register keeps them;
	// only the registry itself takes it.
	EraseRegistration Action = "registration.erase"
	// EraseSearch erases the identity number a search was made by, once
	// the register no longer keeps it; only the registry itself takes it.
	EraseSearch Action = "search.erase"
	// RotateLogKey records that the log's checkpoints are signed by a new
	// key, the first of them by the previous key too; only the registry
	// itself takes it, when started with log.previous_key_file.
	RotateLogKey Action = "log.rotate_key"
)

// anyone marks an action that every authenticated principal may take;
// nobody marks one that needs no principal at all.
const (
	anyone Role = "*"
	nobody Role = "-"
)

// permissions is the role × action table, the one place that says which role
// may do what. Object-level rules (one's own organization, one's own tokens,
// the controller, a modification code) are checked by the service after this
// table allows the action at all. Registry staff (admin, auditor) file and
// change no registrations: only registrants do, but for the assignments an
// operator records when an organization's successor takes its place.
var permissions = map[Action][]Role{
	CreateOrganization:     {Admin},
	SignUp:                 {nobody},
	ApproveOrganization:    {Admin},
	SuspendOrganization:    {Admin},
	RejectOrganization:     {Admin},
	ListOrganizations:      {Admin, Auditor},
	CreateUser:             {Admin, OrgAdmin},
	ListUsers:              {Admin, Auditor, OrgAdmin},
	UpdateUser:             {Admin, OrgAdmin},
	ListAdmins:             {anyone},
	SuspendUser:            {Admin, OrgAdmin},
	ReinstateUser:          {Admin, OrgAdmin},
	IssueToken:             {Admin, OrgAdmin},
	SignIn:                 {nobody},
	ListTokens:             {anyone},
	RevokeToken:            {anyone},
	ChangePassword:         {nobody},
	Bootstrap:              {System},
	ReadMe:                 {anyone},
	FileRegistration:       {Registrant},
	ReadRegistration:       {anyone},
	CancelRegistration:     {Registrant},
	AmendRegistration:      {Registrant},
	ExtendRegistration:     {Registrant},
	ListRegistrations:      {Registrant},
	ChangeRegistrations:    {Registrant},
	StartSuccession:        {Admin},
	ReadSuccession:         {Admin, Auditor},
	AssignBySuccession:     {Admin},
	RotateModificationCode: {Registrant},
	FileObjection:          {Registrant},
	WithdrawObjection:      {Registrant},
	SubmitCaseNotice:       {Registrant},
	Revoke:                 {Admin},
	Search:                 {Searcher},
	ReadSearch:             {Searcher, Auditor},
	ListSearches:           {Searcher, Auditor},
	ReadStatistics:         {nobody},
	Attach:                 {Registrant},
	ReadAttachment:         {anyone},
	ReadCertificate:        {nobody},
	ReadAudit:              {Admin, Auditor},
	ExportAudit:            {Admin, Auditor},
	ReadCheckpoint:         {nobody},
	ReadLogTiles:           {nobody},
	ReadLogEvent:           {anyone},
	ReadLogEntries:         {Admin, Auditor},
	ReadLogProof:           {anyone},
	ReadLogKey:             {nobody},
	ReadNotices:            {anyone},
	MarkNoticeRead:         {anyone},
	CreateWatch:            {Searcher},
	ListWatches:            {anyone},
	DeleteWatch:            {anyone},
	CreateWebhook:          {OrgAdmin},
	ListWebhooks:           {OrgAdmin},
	DeleteWebhook:          {OrgAdmin},
	CreateDraft:            {Registrant},
	ListDrafts:             {Registrant},
	ReadDraft:              {Registrant},
	UpdateDraft:            {Registrant},
	DeleteDraft:            {Registrant},
	FileDraft:              {Registrant},
	SaveParty:              {Registrant},
	ListParties:            {Registrant},
	DeleteParty:            {Registrant},
	RecordExpiry:           {System},
	RecordLapse:            {System},
	EraseRegistration:      {System},
	EraseSearch:            {System},
	IDNumberBurst:          {System},
	RotateLogKey:           {System},
}

// beyondOwn lists, for an action that anyone may take on what is its own,
// the roles needed to take it on anything else. Anyone reads a registration
// its organization is a party to or controls; reading anyone else's is
// reading the register, which is searching it. The registry's staff, who
// answer for the whole register, are exempted by the service.
var beyondOwn = map[Action][]Role{
	ReadRegistration: {Searcher},
}

// CanBeyondOwn reports whether p may take a on what is not its own: what
// Can allows, unless beyondOwn names roles for a, of which p holds none.
func (p Principal) CanBeyondOwn(a Action) bool {
	need, ok := beyondOwn[a]
	if !ok {
		return p.Can(a)
	}
	return p.Can(a) && slices.ContainsFunc(need, p.Has)
}

// RolesBeyondOwn lists the roles needed to take a on what is not one's own
// (nil when Can says all).
func RolesBeyondOwn(a Action) []Role { return slices.Clone(beyondOwn[a]) }

// Actions lists every action of the register, by name: everything the
// audit trail may record.
func Actions() []Action { return slices.Sorted(maps.Keys(permissions)) }

// RolesFor lists the roles that may take action a (none for an action that
// everyone, or only the registry itself, may take), for a page that says
// which role a refused user lacks.
func RolesFor(a Action) []Role {
	var out []Role
	for _, r := range permissions[a] {
		if r.Valid() {
			out = append(out, r)
		}
	}
	return out
}

// Staff reports whether r is a role of the registry's own staff, which is
// never held together with an enterprise's roles.
func (r Role) Staff() bool { return r == Admin || r == Auditor }

// Principal is an authenticated caller.
type Principal struct {
	UserID         string
	OrganizationID string
	// OrganizationUSCC identifies the organization among a registration's
	// parties.
	OrganizationUSCC string
	// OrganizationIDNumber is set for the users of an individual's account:
	// the person's resident identity number, which identifies the account
	// among a registration's parties as a USCC does an organization.
	OrganizationIDNumber string
	Roles                []Role
	// TokenID names the credential the principal presented.
	TokenID string
	// Bootstrap is set for the operator's REGISTRY_ADMIN_TOKEN, which has no
	// user or organization behind it.
	Bootstrap bool
	// ExpiresAt is when the token stops working (zero: it does not).
	ExpiresAt time.Time
}

// Has reports whether p holds role r.
func (p Principal) Has(r Role) bool {
	for _, k := range p.Roles {
		if k == r {
			return true
		}
	}
	return false
}

// personal lists the actions that the users of an individual's account take
// as the person they act for, whatever their roles: an individual holds no
// registrant role (it files no registrations) but objects, as a grantor, to
// registrations that name it, and follows its objections through.
var personal = []Action{FileObjection, WithdrawObjection, SubmitCaseNotice}

// What an individual's account does not have, whatever its roles: the
// limit an action refused to it falls under (IndividualsLimit), so that a
// refusal can say why.
const (
	// NoWebhooks: an individual is told of what concerns it by its notices
	// (on the pages, and by email), not by a system of its own that
	// webhooks would call.
	NoWebhooks = "webhooks"
	// NoUsers: an individual's account is the person alone, its one user
	// made at sign-up; nobody is added to it, listed or suspended in it
	// (the person's own account is read and changed as its own).
	NoUsers = "users"
	// NoFiling: an individual's account searches and objects; it files and
	// changes no registrations (the secured party does).
	NoFiling = "filing"
)

// notPersonal lists the actions that the users of an individual's account
// do not take, whatever their roles, with the limit each falls under.
var notPersonal = map[Action]string{
	CreateWebhook: NoWebhooks, ListWebhooks: NoWebhooks, DeleteWebhook: NoWebhooks,
	CreateUser: NoUsers, ListUsers: NoUsers, SuspendUser: NoUsers, ReinstateUser: NoUsers,
	FileRegistration: NoFiling, CancelRegistration: NoFiling, AmendRegistration: NoFiling, ExtendRegistration: NoFiling,
	ListRegistrations: NoFiling, ChangeRegistrations: NoFiling, RotateModificationCode: NoFiling, Attach: NoFiling,
	CreateDraft: NoFiling, ListDrafts: NoFiling, ReadDraft: NoFiling, UpdateDraft: NoFiling, DeleteDraft: NoFiling, FileDraft: NoFiling,
	SaveParty: NoFiling, ListParties: NoFiling, DeleteParty: NoFiling,
}

// Individual reports whether p acts for an individual's account.
func (p Principal) Individual() bool { return p.OrganizationIDNumber != "" }

// NotForIndividuals reports whether p acts for an individual's account and
// a is an action such an account never takes, whatever its roles: the
// refusal then names no role to ask for.
func (p Principal) NotForIndividuals(a Action) bool {
	return p.Individual() && IndividualsLimit(a) != ""
}

// IndividualsLimit names the limit (NoWebhooks, NoUsers, NoFiling) under
// which no individual's account takes a; "" when one may.
func IndividualsLimit(a Action) string { return notPersonal[a] }

// Can reports whether the permission table lets p take action a.
func (p Principal) Can(a Action) bool {
	if p.Individual() && slices.Contains(personal, a) {
		return true
	}
	if p.NotForIndividuals(a) {
		return false
	}
	for _, r := range permissions[a] {
		if r == nobody || r == anyone || p.Has(r) {
			return true
		}
	}
	return false
}

// NewSecret returns a 256-bit random secret with a readable prefix, and the
// hash under which it is stored.
func NewSecret(prefix string) (secret string, hash []byte) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	secret = prefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, HashSecret(secret)
}

// HashSecret is the stored form of a high-entropy secret (token, modification
// code). A fast hash is enough: the secret cannot be guessed.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// SameSecret compares a presented secret with a stored hash in constant time.
func SameSecret(presented string, hash []byte) bool {
	return subtle.ConstantTimeCompare(HashSecret(presented), hash) == 1
}

// PasswordCost is the work of one argon2id password hash: Time passes over
// MemoryKiB of memory (one lane).
type PasswordCost struct {
	Time      uint32
	MemoryKiB uint32
}

// DefaultPasswordCost is the OWASP minimum recommendation for argon2id (19
// MiB, 2 passes): every password the registry keeps is hashed so. Only
// tests ask for less (registry.Config.PasswordCost), to spend their CPU on
// what they test; a hash records its cost, so it is checked at its own.
var DefaultPasswordCost = PasswordCost{Time: 2, MemoryKiB: 19 * 1024}

const (
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns an argon2id hash in the PHC string format, at the
// default cost.
func HashPassword(password string) string { return HashPasswordAt(password, DefaultPasswordCost) }

// HashPasswordAt is HashPassword at the given cost.
func HashPasswordAt(password string, cost PasswordCost) string {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic(err)
	}
	key := argon2.IDKey([]byte(password), salt, cost.Time, cost.MemoryKiB, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, cost.MemoryKiB, cost.Time, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// CheckPassword reports whether password matches a hash made by HashPassword.
func CheckPassword(password, encoded string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("not an argon2id hash")
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, fmt.Errorf("argon2id parameters: %w", err)
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, err
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
