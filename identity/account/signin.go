package account

import (
	"context"
	"strings"
	"time"

	"github.com/hearth-pds/hearth/identity/auth"
	"github.com/hearth-pds/hearth/store"
)

// dummyHash is a valid hash of a random password, checked when the account
// is unknown so that both paths cost one scrypt.
const dummyHash = "scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// SignInInput is a sign-in attempt.
type SignInInput struct {
	Identifier string // handle, email or DID
	Password   string // the account password or an app password
	// AuthFactorToken is the mailed code, when the account asks for one.
	AuthFactorToken string
	// PasswordOnly refuses app passwords (the account page).
	PasswordOnly bool
	// AllowTakendown gives a taken-down account a narrow session
	// (ScopeTakendown) instead of a refusal, so that it can move away.
	AllowTakendown bool
}

// Grant is who proved themselves, and with what.
type Grant struct {
	Account *store.Account
	Scope   string // ScopeAccess, or an app-password scope
	AppPass string // the app password's name, if one was used
}

// Authenticate checks credentials without starting a session: the account
// password (followed by the mailed code when the account has two-factor
// sign-in on) or an app password, which never needs the code. Every
// outcome takes LoginFloor, so timing tells nothing.
func (s *Service) Authenticate(ctx context.Context, in SignInInput) (*Grant, error) {
	ident := strings.TrimSpace(in.Identifier)
	if ident == "" || in.Password == "" {
		return nil, fail(ErrInvalidRequest, "identifier and password are required")
	}
	deadline := time.Now().Add(s.cfg.LoginFloor)
	defer func() { time.Sleep(time.Until(deadline)) }()

	var a *store.Account
	_ = s.DB.View(func(tx *store.Tx) error {
		a, _ = lookup(tx, ident)
		return nil
	})
	if a == nil {
		_ = auth.CheckPassword(dummyHash, in.Password)
		return nil, fail(ErrBadCredentials, "Invalid identifier or password")
	}
	g := &Grant{Account: a}
	if auth.CheckPassword(a.PasswordHash, in.Password) == nil {
		g.Scope = ScopeAccess
	} else if !in.PasswordOnly {
		g.Scope, g.AppPass = s.checkAppPassword(a.DID, in.Password)
	}
	if g.Scope == "" {
		return nil, fail(ErrBadCredentials, "Invalid identifier or password")
	}
	full := g.Scope == ScopeAccess
	if a.Status == StatusTakendown {
		if !in.AllowTakendown {
			return nil, fail(ErrTakendown, "Account has been taken down")
		}
		g.Scope, g.AppPass = ScopeTakendown, ""
	}
	if full && a.EmailAuthFactor {
		if err := s.secondFactor(ctx, a, in.AuthFactorToken); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// secondFactor mails a sign-in code when none was given, and otherwise
// spends the given one.
func (s *Service) secondFactor(ctx context.Context, a *store.Account, token string) error {
	if strings.TrimSpace(token) == "" {
		var code string
		err := s.DB.Update(ctx, func(tx *store.Tx) error {
			var err error
			code, err = s.issue(tx, a, PurposeSignIn, a.Email)
			return err
		})
		if err != nil {
			return err
		}
		if !s.MailConfigured() {
			// The mail server went away after the factor was turned on: the
			// log is the only way left to the code, and whoever reads it
			// owns the machine.
			s.Log.Warn("sign-in code (no mail server is configured, so it is logged here)",
				"handle", a.Handle, "code", code, "valid_for", TokenTTL.String())
		}
		return fail(ErrAuthFactorRequired, "A sign in code has been sent to your email address")
	}
	return s.DB.Update(ctx, func(tx *store.Tx) error {
		return consume(tx, a.DID, PurposeSignIn, token, s.Now())
	})
}

// SignIn authenticates and starts a session.
func (s *Service) SignIn(ctx context.Context, in SignInInput) (*Session, error) {
	g, err := s.Authenticate(ctx, in)
	if err != nil {
		return nil, err
	}
	out := &Session{Account: g.Account}
	err = s.DB.Update(ctx, func(tx *store.Tx) error {
		var err error
		out.Access, out.Refresh, err = s.mint(tx, g.Account.DID, g.Scope, g.AppPass)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CheckPassword reports whether password is the account password of the
// account named by ident, at the cost of one hash either way.
func (s *Service) CheckPassword(ident, password string) bool {
	a, _ := s.Lookup(ident)
	if a == nil {
		_ = auth.CheckPassword(dummyHash, password)
		return false
	}
	return auth.CheckPassword(a.PasswordHash, password) == nil
}
