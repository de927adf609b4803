package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/movable-registry/registry/internal/auth"
	"github.com/movable-registry/registry/internal/identifiers"
)

// SignUp opens a pending organization whose first user is its org_admin and,
// unless the request names fewer, its registrant and searcher: once approved,
// that user files and searches with no second account. Nobody in it can
// sign in until an admin approves the organization.
func (s *Service) SignUp(ctx context.Context, c Caller, req SignUpRequest) (SignedUp, error) {
	if err := allow(c, auth.SignUp); err != nil {
		return SignedUp{}, err
	}
	// Sign-up needs no account, so it has its own, tighter limit per
	// address: squatting other companies' USCCs must stay slow.
	if wait, ok := s.signUps.Take(auth.AddressKey(c.Source), s.clock()); !ok {
		return SignedUp{}, &RateLimitedError{RetryAfter: wait, Reason: "too many sign-ups from this address: retry after the time Retry-After gives"}
	}
	in := req.Organization
	o := Organization{Name: in.Name, USCC: in.USCC, Kind: in.Kind, IDNumber: in.IDNumber, Address: in.Address}
	// The password is checked once, below, as required.
	offered := SignUpRoles
	if o.Kind == OrgKindIndividual {
		offered = IndividualRoles
	}
	roles := offered
	if req.User.Roles != nil {
		roles = dedupe(req.User.Roles)
	}
	var p problems
	if !checkSignUpRoles(&p, offered, req.User.Roles) {
		roles = offered // named once, as user.roles, not again below
	}
	nu := NewUser{OrganizationID: "-", Email: req.User.Email, DisplayName: req.User.DisplayName, Roles: roles, Language: req.User.Language}
	if o.Kind == OrgKindRegistry {
		p.add("organization.kind", CodeInvalidField, "the registry's own organizations are made by an admin; sign up as enterprise, financial_institution, other or individual")
	} else {
		p.prefixed("organization.", o.Validate())
	}
	p.prefixed("user.", nu.Validate())
	checkPassword(&p, "user.password", req.User.Password, true)
	if err := p.err(); err != nil {
		return SignedUp{}, err
	}
	o.Status = OrgPending
	u := User{Email: nu.Email, DisplayName: nu.DisplayName, Roles: nu.Roles, Status: UserActive, Language: nu.Language}
	hash, err := s.hashPassword(ctx, req.User.Password)
	if err != nil {
		return SignedUp{}, err
	}
	at := s.clock()
	err = s.store.InTx(ctx, func(tx Tx) error {
		if err := tx.InsertOrganization(ctx, &o, at); errors.Is(err, ErrConflict) {
			return o.taken()
		} else if err != nil {
			return err
		}
		u.OrganizationID = o.ID
		if err := tx.InsertUser(ctx, &u, hash, at); errors.Is(err, ErrConflict) {
			return refused(ErrConflict, "this email already belongs to a user")
		} else if err != nil {
			return err
		}
		actor := c
		actor.Principal = auth.Principal{UserID: u.ID, OrganizationID: o.ID}
		return tx.InsertAudit(ctx, s.entry(actor, auth.SignUp, o.ID, at))
	})
	if err != nil {
		return SignedUp{}, err
	}
	return SignedUp{Organization: o, User: u}, nil
}

// SignUpRoles are the roles a sign-up's first user holds unless the request
// names a subset: all an organization's own roles.
var SignUpRoles = []string{string(auth.OrgAdmin), string(auth.Registrant), string(auth.Searcher)}

// IndividualRoles are the roles a user of an individual's account may hold,
// and those its sign-up gives: org_admin (the account's users and tokens) and
// searcher. An individual files no registrations, so holds no registrant
// role; it objects as the person the account is (auth.Principal.Can).
var IndividualRoles = []string{string(auth.OrgAdmin), string(auth.Searcher)}

// checkSignUpRoles checks the roles a sign-up asks for (nil: the default):
// a subset of offered that keeps org_admin, since the first user is the only
// one who can add the others. It reports whether they may be given.
func checkSignUpRoles(p *problems, offered, roles []string) (ok bool) {
	if len(roles) == 0 {
		return true // none at all is NewUser.Validate's to name
	}
	for _, r := range roles {
		if !slices.Contains(offered, r) {
			p.brokeValue("user.roles", RuleNotOneOf, fmt.Sprintf("%q is not a role this sign-up gives: choose among %s", r, strings.Join(offered, ", ")), r)
			return false
		}
	}
	if !slices.Contains(roles, string(auth.OrgAdmin)) {
		p.add("user.roles", CodeInvalidField, "must include org_admin: the first user is the one who manages the organization's users")
		return false
	}
	return true
}

// ApproveOrganization makes a pending or suspended organization active.
func (s *Service) ApproveOrganization(ctx context.Context, c Caller, id string) (Organization, error) {
	return s.setOrganizationStatus(ctx, c, auth.ApproveOrganization, id, OrgActive)
}

// SuspendOrganization stops an organization: its users' tokens are revoked
// at once and nobody in it can sign in until it is approved again.
func (s *Service) SuspendOrganization(ctx context.Context, c Caller, id string) (Organization, error) {
	return s.setOrganizationStatus(ctx, c, auth.SuspendOrganization, id, OrgSuspended)
}

func (s *Service) setOrganizationStatus(ctx context.Context, c Caller, action auth.Action, id, status string) (Organization, error) {
	var o Organization
	err := s.administer(ctx, c, action, &o, func(tx Tx, at time.Time) (string, error) {
		var err error
		if o, err = tx.Organization(ctx, id); err != nil {
			return "", err
		}
		if o.Status == status {
			return "", refused(ErrConflict, "the organization is already "+status)
		}
		if o.Status == OrgRejected {
			return "", refused(ErrConflict, "the organization's sign-up was rejected: it signs up again, or an admin creates it")
		}
		if o, err = tx.SetOrganizationStatus(ctx, id, o.Status, status, at); err != nil {
			return "", err
		}
		if status == OrgSuspended {
			// Approval later does not bring old tokens back.
			return id, tx.RevokeTokensOf(ctx, id, "", at)
		}
		return id, nil
	})
	return o, err
}

// Organizations lists account-holding organizations, oldest first, for the
// registry's staff; status narrows it (pending: those awaiting approval).
func (s *Service) Organizations(ctx context.Context, c Caller, req OrganizationListRequest) (Page[Organization], error) {
	if err := allow(c, auth.ListOrganizations); err != nil {
		return Page[Organization]{}, err
	}
	var p problems
	if req.Status != "" {
		checkEnum(&p, "status", req.Status, []string{OrgPending, OrgActive, OrgSuspended, OrgRejected})
	}
	limit, after := readPage(&p, req.Limit, req.Cursor, isUUID)
	if err := p.err(); err != nil {
		return Page[Organization]{}, err
	}
	orgs, err := s.store.ListOrganizations(ctx, req.Status, after, limit+1)
	if err != nil {
		return Page[Organization]{}, err
	}
	return pageOf(orgs, limit, func(o Organization) string { return o.ID }), nil
}

// CreateOrganization registers an account-holding organization (admin).
func (s *Service) CreateOrganization(ctx context.Context, c Caller, o Organization) (Organization, error) {
	if err := allow(c, auth.CreateOrganization); err != nil {
		return Organization{}, err
	}
	if o.Kind == OrgKindIndividual {
		return Organization{}, Invalid("kind", CodeInvalidField, "an individual's account is opened by its own sign-up (POST /signup), which an admin approves")
	}
	if err := o.Validate(); err != nil {
		return Organization{}, err
	}
	o.Status = OrgActive
	err := s.administer(ctx, c, auth.CreateOrganization, &o, func(tx Tx, at time.Time) (string, error) {
		// A pending sign-up does not block the admin, who decides: it is
		// rejected, in the same transaction and with its own audit entry.
		held, err := tx.OrganizationByUSCC(ctx, o.USCC)
		switch {
		case err == nil && held.Status == OrgPending:
			if _, err := tx.RejectOrganization(ctx, held.ID, "superseded by an organization the registry created", at); err != nil {
				return "", err
			}
			e := s.entry(c, auth.RejectOrganization, held.ID, at)
			e.Detail = "a pending sign-up with this USCC, superseded by an organization the registry created"
			if err := tx.InsertAudit(ctx, e); err != nil {
				return "", err
			}
		case err == nil:
			return "", refused(ErrConflict, "an organization with this USCC already has an account")
		case !errors.Is(err, ErrNotFound):
			return "", err
		}
		return o.ID, tx.InsertOrganization(ctx, &o, at)
	})
	return o, err
}

// RejectOrganization refuses a pending sign-up (admin): its USCC and its
// users' emails are free again for a new sign-up or an admin's
// POST /organizations, and nobody in it ever signs in.
func (s *Service) RejectOrganization(ctx context.Context, c Caller, id string, req RejectionRequest) (Organization, error) {
	if err := allow(c, auth.RejectOrganization); err != nil {
		return Organization{}, err
	}
	var p problems
	req.Note = checkText(&p, "note", req.Note, false, maxText)
	if err := p.err(); err != nil {
		return Organization{}, err
	}
	var o Organization
	err := s.administer(ctx, c, auth.RejectOrganization, &o, func(tx Tx, at time.Time) (string, error) {
		var err error
		if o, err = tx.Organization(ctx, id); err != nil {
			return "", err
		}
		if o.Status != OrgPending {
			return "", refused(ErrConflict, "only a pending sign-up can be rejected; this organization is "+o.Status)
		}
		o, err = tx.RejectOrganization(ctx, id, req.Note, at)
		return id, err
	})
	return o, err
}

// OrganizationKinds are the kinds of account-holding organization.
var OrganizationKinds = []string{"enterprise", "financial_institution", "other", OrgKindRegistry, OrgKindIndividual}

// OrgKindIndividual is the kind of an individual's account: a person, not an
// organization, identified by the resident identity number (id_number) and
// with no USCC. Its users search, and object as a grantor to registrations
// that name that identity number; they file no registrations.
const OrgKindIndividual = "individual"

// OrgKindRegistry is the kind of the registry's own organizations, the only
// ones whose users hold staff roles (admin, auditor). Only an admin makes
// one; sign-up cannot choose it.
const OrgKindRegistry = "registry"

// Organization is an account-holding organization.
type Organization struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	USCC   string `json:"uscc"`
	Kind   string `json:"kind"`
	Status string `json:"status"`
	// IDNumber and Address are an individual's (kind individual), whose
	// USCC is empty. An organization is shown only to its own users and to
	// the registry's staff, who see the identity number whole.
	IDNumber string `json:"id_number,omitempty"`
	Address  string `json:"address,omitempty"`
	// CreatedAt is when it signed up (or an admin made it), and Applicant
	// its first user: what an admin deciding on a sign-up reads. The list
	// of organizations gives them.
	CreatedAt *Time      `json:"created_at,omitempty"`
	Applicant *Applicant `json:"applicant,omitempty"`
}

// Applicant is the user who signed an organization up.
type Applicant struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	Email       string `json:"email"`
}

// OrganizationInput is an organization as a request names it: an
// organization by its USCC, or an individual (kind individual) by its
// identity number and address.
type OrganizationInput struct {
	Name     string `json:"name"`
	USCC     string `json:"uscc,omitempty"`
	Kind     string `json:"kind"`
	IDNumber string `json:"id_number,omitempty"`
	Address  string `json:"address,omitempty"`
}

// SignUpUser is the first user of an organization that signs up.
type SignUpUser struct {
	Email       string `json:"email"`
	DisplayName string `json:"display_name"`
	Password    string `json:"password"`
	// Roles, when given, is a subset of SignUpRoles that includes org_admin.
	Roles []string `json:"roles,omitempty"`
	// Language is the language of the user's emails (zh or en; zh when
	// empty): the pages give the language they were shown in. The API's
	// sign-up has no such field.
	Language string `json:"-"`
}

// SignUpRequest opens an organization's account, pending approval.
type SignUpRequest struct {
	Organization OrganizationInput `json:"organization"`
	User         SignUpUser        `json:"user"`
}

// RejectionRequest is an admin's refusal of a pending sign-up.
type RejectionRequest struct {
	Note string `json:"note"`
}

// SignedUp is a new pending organization and its first user.
type SignedUp struct {
	Organization Organization `json:"organization"`
	User         User         `json:"user"`
}

// OrganizationListRequest asks for a page of organizations.
type OrganizationListRequest struct {
	Status, Cursor, Limit string
}

// Validate checks an organization to be created: an organization has a
// USCC and no identity number; an individual an identity number and an
// address, and no USCC.
func (o *Organization) Validate() error {
	var p problems
	o.Name = checkText(&p, "name", o.Name, true, maxName)
	if o.Kind == OrgKindIndividual {
		if o.USCC != "" {
			p.broke("uscc", RuleIndividualID, "an individual is identified by id_number only")
		}
		if strings.TrimSpace(o.IDNumber) == "" {
			p.broke("id_number", RuleRequired, "is required for an individual")
		} else {
			o.IDNumber = checkID(&p, "id_number", CodeInvalidIDNumber, "identity number", o.IDNumber, identifiers.CanonicalIDNumber)
		}
		o.Address = checkText(&p, "address", o.Address, true, maxText)
		return p.err()
	}
	o.USCC = checkID(&p, "uscc", CodeInvalidUSCC, "USCC", o.USCC, identifiers.CanonicalUSCC)
	checkEnum(&p, "kind", o.Kind, OrganizationKinds)
	if o.IDNumber != "" {
		p.broke("id_number", RuleOrganizationID, "an organization has no identity number; use uscc")
	}
	if o.Address != "" {
		p.add("address", CodeInvalidField, "is only for an individual's account")
	}
	return p.err()
}

// taken is the conflict of a new account whose identifier another holds.
func (o Organization) taken() error {
	if o.Kind == OrgKindIndividual {
		return &Refusal{Kind: ErrConflict, Field: "organization.id_number", Detail: "an account with this identity number already exists"}
	}
	return &Refusal{Kind: ErrConflict, Field: "organization.uscc", Detail: "an organization with this USCC already has an account"}
}

// Is reports whether party p is the account's holder: an organization by its
// USCC, an individual by its identity number.
func (o Organization) Is(p Party) bool {
	if o.Individual() {
		return p.Type == "individual" && p.IDNumber != "" && p.IDNumber == o.IDNumber
	}
	return p.USCC != "" && p.USCC == o.USCC
}

// Individual reports whether the organization is an individual's account.
func (o Organization) Individual() bool { return o.Kind == OrgKindIndividual }
