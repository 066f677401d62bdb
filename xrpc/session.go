package xrpc

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/hearth-pds/hearth/store"
	"github.com/hearth-pds/hearth/identity/auth"
)

// Token lifetimes and scopes, as the reference PDS uses them.
const (
	accessTTL    = 2 * time.Hour
	refreshTTL   = 90 * 24 * time.Hour
	refreshGrace = 2 * time.Minute

	scopeAccess         = "com.atproto.access"
	scopeAppPass        = "com.atproto.appPass"
	scopeAppPassPrivate = "com.atproto.appPassPrivileged"
	scopeRefresh        = "com.atproto.refresh"
)

// Auth is the authenticated caller of a request.
type Auth struct {
	DID       string
	Scope     string
	RefreshID string // for refresh-token calls
	Admin     bool
}

// AppPassword reports whether the session came from an app password.
func (a *Auth) AppPassword() bool {
	return a != nil && (a.Scope == scopeAppPass || a.Scope == scopeAppPassPrivate)
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
	}
	tok, has := bearer(r)
	if !has {
		if level == authOptional {
			return nil, nil
		}
		return nil, authRequired("Authentication Required")
	}
	p, err := auth.Parse(tok)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "InvalidToken", "Token could not be verified")
	}
	if err := s.jwtKey.Verify(p); err != nil {
		return nil, errorf(http.StatusBadRequest, "InvalidToken", "Token could not be verified")
	}
	e := auth.Expect{Aud: s.serviceDID, Now: s.now()}
	if level == authRefresh {
		e.Typ, e.Scopes = "refresh+jwt", []string{scopeRefresh}
	} else {
		e.Typ, e.Scopes = "at+jwt", []string{scopeAccess, scopeAppPass, scopeAppPassPrivate}
	}
	if err := p.Check(e); err != nil {
		if errors.Is(err, auth.ErrExpired) {
			return nil, errorf(http.StatusBadRequest, "ExpiredToken", "Token has expired")
		}
		return nil, errorf(http.StatusBadRequest, "InvalidToken", "Token could not be verified: %v", err)
	}
	a := &Auth{DID: p.Claims.Sub, Scope: p.Claims.Scope, RefreshID: p.Claims.Jti}
	if level == authFull && a.AppPassword() {
		return nil, errorf(http.StatusBadRequest, "InvalidToken", "This method is not available to app-password sessions")
	}
	return a, nil
}

func (s *Server) adminAuth(r *http.Request) (*Auth, error) {
	if s.cfg.AdminPassword == "" {
		return nil, errorf(http.StatusUnauthorized, "AuthRequired", "admin routes are disabled (no admin password set)")
	}
	user, pass, has := r.BasicAuth()
	if !has || user != "admin" || subtle.ConstantTimeCompare([]byte(pass), []byte(s.cfg.AdminPassword)) != 1 {
		return nil, authRequired("admin credentials required")
	}
	return &Auth{Admin: true}, nil
}

// session mints an access and a refresh token for did and stores the
// refresh token's record.
func (s *Server) session(tx *store.Tx, did, scope, appPass string) (access, refresh string, err error) {
	now := s.now()
	access, err = auth.Encode(auth.Header{Alg: "HS256", Typ: "at+jwt"}, auth.Claims{
		Scope: scope, Sub: did, Aud: s.serviceDID, Iat: now.Unix(), Exp: now.Add(accessTTL).Unix(),
	}, s.jwtKey.Sign)
	if err != nil {
		return "", "", err
	}
	id := auth.RandomToken(24)
	refresh, err = auth.Encode(auth.Header{Alg: "HS256", Typ: "refresh+jwt"}, auth.Claims{
		Scope: scopeRefresh, Sub: did, Aud: s.serviceDID, Jti: id, Iat: now.Unix(), Exp: now.Add(refreshTTL).Unix(),
	}, s.jwtKey.Sign)
	if err != nil {
		return "", "", err
	}
	err = tx.PutRefreshToken(&store.RefreshToken{
		ID: id, DID: did, AppPass: appPass, Scope: scope, ExpiresAt: now.Add(refreshTTL),
	})
	return access, refresh, err
}

// accessFor mints an access token for an existing refresh-token record.
func (s *Server) accessFor(t *store.RefreshToken) (string, error) {
	now := s.now()
	return auth.Encode(auth.Header{Alg: "HS256", Typ: "at+jwt"}, auth.Claims{
		Scope: t.Scope, Sub: t.DID, Aud: s.serviceDID, Iat: now.Unix(), Exp: now.Add(accessTTL).Unix(),
	}, s.jwtKey.Sign)
}
