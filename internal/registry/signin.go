package registry

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/movable-registry/registry/internal/auth"
)

// signInKeys are the keys under which failed sign-ins are counted: the
// account asked for (known or not, so that slowing down tells nothing) and
// the address asking.
func signInKeys(email, source string) (account, address string) {
	return "email:" + strings.ToLower(strings.TrimSpace(email)), "address:" + auth.AddressKey(source)
}

// SignIn issues a token to whoever presents a user's email and password
// (req.Email, req.Password), living req.TTL or token_ttl, whichever is
// shorter; the one who signs in is the audit entry's actor.
func (s *Service) SignIn(ctx context.Context, c Caller, req TokenRequest) (IssuedToken, error) {
	if err := allow(c, auth.SignIn); err != nil {
		return IssuedToken{}, err
	}
	u, err := s.signIn(ctx, c, req)
	if err != nil {
		return IssuedToken{}, err
	}
	// The one who signs in is the audit entry's actor.
	return s.issue(ctx, c, auth.Principal{UserID: u.ID, OrganizationID: u.OrganizationID}, auth.SignIn, u.ID, req.TTL)
}

// signIn checks an email and password. It spends the same time whether or
// not the email exists, and answers an unknown email like a wrong password.
// After repeated failures the account and the address must wait, more each
// time, whether or not the email exists.
func (s *Service) signIn(ctx context.Context, c Caller, req TokenRequest) (User, error) {
	now := s.clock()
	account, address := signInKeys(req.Email, c.Source)
	wa, err := s.accountFailures.wait(ctx, account, now)
	if err != nil {
		return User{}, err
	}
	wb, err := s.addressFailures.wait(ctx, address, now)
	if err != nil {
		return User{}, err
	}
	if wait := max(wa, wb); wait > 0 {
		return User{}, &RateLimitedError{RetryAfter: wait, Reason: "too many failed sign-ins: wait before trying again"}
	}
	var cr Credentials
	if plausibleEmail(req.Email) {
		var err error
		cr, err = s.store.UserCredentials(ctx, req.Email)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return User{}, err
		}
	}
	hash := cr.PasswordHash
	if hash == "" {
		// Spend the same time as a real check so that timing does not
		// reveal whether the email exists.
		hash = s.dummyHash
	}
	release, err := s.hashSlot(ctx)
	if err != nil {
		return User{}, err
	}
	ok, err := auth.CheckPassword(req.Password, hash)
	release()
	if err != nil || !ok || cr.User.ID == "" {
		if err := errors.Join(s.accountFailures.fail(ctx, account, now), s.addressFailures.fail(ctx, address, now)); err != nil {
			return User{}, err
		}
		return User{}, ErrWrongCredentials
	}
	if err := s.accountFailures.clear(ctx, account); err != nil {
		return User{}, err
	}
	// Only the password's holder learns why the organization cannot act,
	// and what happens next.
	switch cr.OrganizationStatus {
	case OrgActive:
	case OrgPending:
		return User{}, refused(ErrOrganizationPending, "the organization is awaiting the registry's approval: its users can sign in once an admin approves it")
	case OrgRejected:
		return User{}, refused(ErrOrganizationRejected, "the organization's sign-up was rejected: nobody in it signs in; its USCC and emails are free for a new sign-up")
	case OrgSuspended:
		return User{}, refused(ErrOrganizationSuspended, "the organization is suspended: nobody in it can sign in until the registry reinstates it")
	default:
		return User{}, refused(ErrForbidden, "the organization is "+cr.OrganizationStatus+": nobody in it can sign in")
	}
	if cr.MustChangePassword {
		// The user goes with the refusal: changing the password needs it.
		return cr.User, ErrPasswordChangeRequired
	}
	if holdsStaffRole(cr.User.Roles) && cr.OrganizationKind != OrgKindRegistry {
		return User{}, refused(ErrForbidden, "this user holds a staff role outside the registry's own organizations and cannot sign in: the registry must move it")
	}
	return cr.User, nil
}

// SignInFailureStore keeps failed sign-ins where every instance sees them.
type SignInFailureStore interface {
	SignInFailures(ctx context.Context, key string) (failures int, last time.Time, err error)
	FailSignIn(ctx context.Context, key string, at time.Time, forgetAfter time.Duration) error
	ClearSignIn(ctx context.Context, key string) error
}

// failures counts failed sign-ins under keys: in this process (Backoff), or
// in a store every instance shares.
type failures struct {
	backoff *auth.Backoff
	shared  SignInFailureStore
}

func (f failures) wait(ctx context.Context, key string, now time.Time) (time.Duration, error) {
	if f.shared == nil {
		return f.backoff.Wait(key, now), nil
	}
	n, last, err := f.shared.SignInFailures(ctx, key)
	if err != nil || n == 0 || now.Sub(last) > f.backoff.Max {
		return 0, err
	}
	return max(last.Add(f.backoff.Delay(n)).Sub(now), 0), nil
}

func (f failures) fail(ctx context.Context, key string, now time.Time) error {
	if f.shared == nil {
		f.backoff.Fail(key, now)
		return nil
	}
	return f.shared.FailSignIn(context.WithoutCancel(ctx), key, now, f.backoff.Max)
}

func (f failures) clear(ctx context.Context, key string) error {
	if f.shared == nil {
		f.backoff.Clear(key)
		return nil
	}
	return f.shared.ClearSignIn(context.WithoutCancel(ctx), key)
}
