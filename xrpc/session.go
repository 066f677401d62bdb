package xrpc

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/store"
	"github.com/hearth-pds/hearth/xrpc/oauth"
)

// Auth is the authenticated caller of a request.
type Auth struct {
	DID       string
	Scope     string
	RefreshID string // the session's id
	Admin     bool
	// Account is the caller's account, loaded once per request (access
	// tokens only).
	Account *store.Account
	// Takendown marks the narrow session of a taken-down account, which
	// only the methods marked for it accept.
	Takendown bool
	// OAuth is what an OAuth session's scope grants (nil: not OAuth).
	OAuth *oauth.Permissions
}

// AppPassword reports whether the session came from an app password.
func (a *Auth) AppPassword() bool {
	return a != nil && (a.Scope == account.ScopeAppPass || a.Scope == account.ScopeAppPassPrivate)
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:]), true
	}
	return "", false
}

func (s *Server) authenticate(r *http.Request, level authLevel) (*Auth, error) {
	switch level {
	case authNone:
		return nil, nil
	case authAdmin:
		return s.adminAuth(r)
	case authAccessOrService:
		level = authAccess
	case authPublic:
		// Public reads (sync) serve anyone; a token only lets an owner see
		// its own repository whatever its state, so a stale one is no error.
		a, err := s.authenticate(r, authOptional)
		if err != nil {
			return nil, nil
		}
		return a, nil
	}
	if a, err, handled := s.oauthCaller(r, level); handled {
		return a, err
	}
	var err error
	tok, has := bearer(r)
	if !has {
		if level == authOptional {
			return nil, nil
		}
		return nil, authMissing()
	}
	var c *account.Credentials
	if level == authSignOut {
		c, err = s.accounts.VerifySignOut(tok)
	} else {
		c, err = s.accounts.Verify(tok, level == authRefresh)
	}
	if err != nil {
		// Only a token that is no session of ours can be an OAuth one
		// (those are ES256, ours HS256), so the check waits until here.
		if oerr := s.bearerOAuth(tok); oerr != nil {
			return nil, oerr
		}
		return nil, err
	}
	a := &Auth{DID: c.DID, Scope: c.Scope, RefreshID: c.ID}
	if level == authRefresh || level == authSignOut {
		return a, nil
	}
	acct, err := s.accounts.Current(c)
	if errors.Is(err, account.ErrTakendown) && c.Scope == account.ScopeTakendown {
		a.Account, a.Takendown = acct, true
		return a, nil
	}
	if errors.Is(err, account.ErrNotFound) {
		// The reference answers an old token of a deleted account so.
		return nil, errorf(http.StatusForbidden, "AccountNotFound", "Account not found")
	} else if err != nil {
		return nil, err
	}
	a.Account = acct
	if level == authFull && a.AppPassword() {
		return nil, errorf(http.StatusBadRequest, "InvalidToken", "Bad token scope")
	}
	return a, nil
}

func (s *Server) adminAuth(r *http.Request) (*Auth, error) {
	if s.cfg.AdminPassword == "" {
		return nil, errorf(http.StatusUnauthorized, "AuthenticationRequired", "admin routes are disabled (no admin password set)")
	}
	user, pass, has := r.BasicAuth()
	if !has {
		return nil, authMissing()
	}
	if user != "admin" || subtle.ConstantTimeCompare([]byte(pass), []byte(s.cfg.AdminPassword)) != 1 {
		return nil, authRequired("Invalid admin credentials")
	}
	return &Auth{Admin: true}, nil
}
