package registry

import (
	"context"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/movable-registry/registry/internal/auth"
)

// hashSlot waits for a turn to compute a password hash. argon2id takes
// 19 MiB and tens of milliseconds of one core per hash: unbounded, a flood
// of sign-ins would take the memory and the CPU of everything else. A turn
// not had within PasswordWait is 503 with Retry-After.
func (s *Service) hashSlot(ctx context.Context) (release func(), err error) {
	t := time.NewTimer(s.cfg.PasswordWait)
	defer t.Stop()
	select {
	case s.hashers <- struct{}{}:
		return func() { <-s.hashers }, nil
	case <-t.C:
	case <-ctx.Done():
	}
	return nil, &UnavailableError{RetryAfter: time.Second, Reason: "too many sign-ins at once: retry in a moment"}
}

// hashPassword hashes a new password in its turn.
func (s *Service) hashPassword(ctx context.Context, password string) (string, error) {
	release, err := s.hashSlot(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return auth.HashPasswordAt(password, s.cfg.PasswordCost), nil
}

// Credentials are what sign-in checks a password against.
type Credentials struct {
	User               User
	PasswordHash       string
	OrganizationStatus string
	OrganizationKind   string
	// MustChangePassword marks a password the registry made: it signs in
	// nobody until it is changed.
	MustChangePassword bool
}

// checkPassword checks a new password; an empty one is refused only where
// it is required.
func checkPassword(p *problems, field, pw string, required bool) {
	switch {
	case pw == "" && !required:
	case utf8.RuneCountInString(pw) < 12:
		p.brokeMin(field, RulePasswordShort, "must have at least 12 characters", 12)
	case len(pw) > 1024:
		p.add(field, CodeInvalidField, "must have at most 1024 bytes")
	case !utf8.ValidString(pw):
		p.broke(field, RuleNotUTF8, "must be valid UTF-8")
	}
}

// PasswordChange is a user's change of its own password, with the one it
// replaces.
type PasswordChange struct {
	Email       string `json:"email"`
	Password    string `json:"password"`
	NewPassword string `json:"new_password"`
}

// ChangePassword replaces a user's password after checking the current one
// as sign-in does (the same time whether the email exists or not, the same
// slowdown after failures). It is how a password the registry made becomes
// the user's own.
func (s *Service) ChangePassword(ctx context.Context, c Caller, req PasswordChange) error {
	if err := allow(c, auth.ChangePassword); err != nil {
		return err
	}
	var p problems
	checkPassword(&p, "new_password", req.NewPassword, true)
	if req.NewPassword != "" && req.NewPassword == req.Password {
		p.add("new_password", CodeInvalidField, "must differ from the password it replaces")
	}
	if err := p.err(); err != nil {
		return err
	}
	u, err := s.signIn(ctx, c, TokenRequest{Email: req.Email, Password: req.Password})
	if err != nil && !errors.Is(err, ErrPasswordChangeRequired) {
		return err
	}
	hash, err := s.hashPassword(ctx, req.NewPassword)
	if err != nil {
		return err
	}
	at := s.clock()
	err = s.store.InTx(ctx, func(tx Tx) error {
		if err := tx.SetPassword(ctx, u.ID, hash); err != nil {
			return err
		}
		actor := c
		actor.Principal = auth.Principal{UserID: u.ID, OrganizationID: u.OrganizationID}
		return tx.InsertAudit(ctx, s.entry(actor, auth.ChangePassword, u.ID, at))
	})
	s.principals.forget()
	return err
}
