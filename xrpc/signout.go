package xrpc

import (
	"errors"
	"net/http"
	"time"

	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/identity/auth"
)

// caller authenticates a request at level. Signing out is the one level
// package account's Verify does not cover, so it is decided here.
func (s *Server) caller(r *http.Request, level authLevel) (*Auth, error) {
	if level == authSignOut {
		return s.signOutAuth(r)
	}
	return s.authenticate(r, level)
}

// signOutAuth accepts a refresh token of this PDS, expired or not: as in
// the reference, a client can always sign out. Its signature, type,
// audience and scope must still hold, so only the session's owner can end
// it.
func (s *Server) signOutAuth(r *http.Request) (*Auth, error) {
	tok, has := bearer(r)
	if !has {
		return nil, authMissing()
	}
	c, err := s.accounts.Verify(tok, true)
	if err == nil {
		return &Auth{DID: c.DID, Scope: c.Scope, RefreshID: c.ID}, nil
	}
	if !errors.Is(err, account.ErrExpiredToken) {
		return nil, err
	}
	// Verify stops at the expiry; check the rest as of the moment it expired.
	// The expectations mirror account.Service.Verify's for refresh tokens.
	p, perr := auth.Parse(tok)
	if perr != nil || s.accounts.JWTKey.Verify(p) != nil {
		return nil, err
	}
	if p.Check(auth.Expect{
		Typ: "refresh+jwt", Aud: s.serviceDID, Scopes: []string{account.ScopeRefresh},
		Now: time.Unix(p.Claims.Exp, 0),
	}) != nil {
		return nil, err
	}
	return &Auth{DID: p.Claims.Sub, Scope: p.Claims.Scope, RefreshID: p.Claims.Jti}, nil
}
