package oauth

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/hearth-pds/hearth/store"
)

// Access is a verified DPoP-bound access token: who calls, and what the
// grant lets them do.
type Access struct {
	DID         string
	ClientID    string
	GrantID     string
	Permissions *Permissions
}

type accessToken struct {
	claims accessClaims
	grant  string
}

// parseAccess verifies an access token's signature, issuer and type; it
// does not look at its expiry or its grant.
func (s *Server) parseAccess(tok string) (*accessToken, error) {
	t, err := parseJWS(tok)
	if err != nil || t.Header.Typ != "at+jwt" || t.Header.Alg != "ES256" {
		return nil, errJWT
	}
	if err := s.key.Public().Verify([]byte(t.signed), t.sig); err != nil {
		return nil, errJWT
	}
	if t.Claims.Iss != s.cfg.Issuer || t.Claims.Cnf == nil {
		return nil, errJWT
	}
	grant, _, ok := strings.Cut(t.Claims.Jti, ".")
	if !ok {
		return nil, errJWT
	}
	return &accessToken{
		claims: accessClaims{Sub: t.Claims.Sub, Exp: t.Claims.Exp, Scope: t.Claims.Scope, ClientID: t.Claims.ClientID,
			Cnf: struct {
				JKT string `json:"jkt"`
			}{t.Claims.Cnf.JKT}},
		grant: grant,
	}, nil
}

// IsAccessToken reports whether tok is one of this server's DPoP-bound
// access tokens (signature checked), so that one sent as Bearer can be
// refused as such.
func (s *Server) IsAccessToken(tok string) bool {
	// Every session token of the other kinds comes through here first, so
	// the header alone turns them away before the claims are decoded:
	// password sessions are at+jwt too, but HS256.
	if typ, alg := headerOf(tok); typ != "at+jwt" || alg != "ES256" {
		return false
	}
	_, err := s.parseAccess(tok)
	return err == nil
}

// ResourceError is a refusal at the resource server: Status and Code
// (invalid_token, use_dpop_nonce, invalid_dpop_proof) go in the
// WWW-Authenticate header as RFC 9449 §7.1 asks.
type ResourceError struct {
	Status      int
	Code, Desc  string
	WWWAuth     string
	NonceHeader string
}

func (e *ResourceError) Error() string { return "oauth: " + e.Code + ": " + e.Desc }

func (s *Server) resourceError(code, desc string) *ResourceError {
	return &ResourceError{
		Status: http.StatusUnauthorized, Code: code, Desc: desc,
		WWWAuth:     `DPoP algs="ES256", error="` + code + `", error_description="` + desc + `"`,
		NonceHeader: s.dpop.Nonce(),
	}
}

// Nonce is the DPoP nonce to send along with a resource answer.
func (s *Server) Nonce() string { return s.dpop.Nonce() }

// Authenticate checks a request's "Authorization: DPoP <token>" and its
// proof (ath, htm, htu, nonce, replay), then that the grant still stands
// and the account may use it. ErrNoToken means there is no DPoP token.
func (s *Server) Authenticate(r *http.Request) (*Access, error) {
	h := r.Header.Get("Authorization")
	if len(h) < 5 || !strings.EqualFold(h[:5], "dpop ") {
		return nil, ErrNoToken
	}
	tok := strings.TrimSpace(h[5:])
	t, err := s.parseAccess(tok)
	if err != nil {
		return nil, s.resourceError("invalid_token", "Invalid token")
	}
	p, err := s.dpop.check(r, s.cfg.Issuer+r.URL.Path, tok)
	if err != nil {
		var e *Error
		errors.As(err, &e)
		if e != nil && e.Nonce {
			return nil, s.resourceError("use_dpop_nonce", "Resource server requires nonce in DPoP proof")
		}
		desc := "Invalid DPoP proof"
		if e != nil {
			desc = e.Desc
		}
		return nil, s.resourceError("invalid_dpop_proof", desc)
	}
	if p.JKT != t.claims.Cnf.JKT {
		return nil, s.resourceError("invalid_dpop_proof", "the DPoP key is not the token's")
	}
	now := s.d.Now()
	if now.After(time.Unix(t.claims.Exp, 0)) {
		return nil, s.resourceError("invalid_token", "Token expired")
	}
	var g *store.OAuthGrant
	s.d.DB.View(func(tx *store.Tx) error {
		g, _ = tx.OAuthGrant(t.grant)
		return nil
	})
	if g == nil || now.After(g.ExpiresAt) || g.JKT != p.JKT {
		return nil, s.resourceError("invalid_token", "Token has been revoked")
	}
	return &Access{DID: g.DID, ClientID: g.ClientID, GrantID: g.ID, Permissions: s.permissions(g.Scope, g.Expanded)}, nil
}
