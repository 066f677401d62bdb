package oauth

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"time"

	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/store"
)

// token serves the token endpoint: authorization_code and refresh_token.
func (s *Server) token(w http.ResponseWriter, r *http.Request) error {
	p, err := s.checkDPoP(r, "/oauth/token")
	if err != nil {
		return err
	}
	c, method, err := s.authenticateClient(r.Context(), r)
	if err != nil {
		return err
	}
	var g *store.OAuthGrant
	var refresh string
	switch r.PostFormValue("grant_type") {
	case "authorization_code":
		g, refresh, err = s.exchangeCode(r, c, method, p)
	case "refresh_token":
		g, refresh, err = s.refresh(r, c, method, p)
	default:
		return oerr(http.StatusBadRequest, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
	}
	if err != nil {
		return err
	}
	access, err := s.mintAccess(g)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": access, "token_type": "DPoP", "expires_in": int(AccessTTL.Seconds()),
		"refresh_token": refresh, "scope": g.Scope, "sub": g.DID,
	})
	return nil
}

// exchangeCode spends a one-time code. A second use of a code ends the
// grant the first use made (RFC 6749 §4.1.2).
func (s *Server) exchangeCode(r *http.Request, c *Client, method string, p *proof) (*store.OAuthGrant, string, error) {
	f := r.PostFormValue
	verifier := f("code_verifier")
	if !pkceValue(verifier) {
		return nil, "", invalidGrant("code_verifier is missing or malformed")
	}
	refresh := randomID(32)
	now := s.d.Now()
	var g *store.OAuthGrant
	var refusal error
	err := s.d.DB.Update(r.Context(), func(tx *store.Tx) error {
		g, refusal = nil, nil
		id, err := tx.OAuthCode(secretKey(f("code")))
		if err != nil {
			refusal = invalidGrant("unknown or used code")
			return nil
		}
		req, err := tx.OAuthRequest(id)
		if err != nil {
			refusal = invalidGrant("unknown or used code")
			return nil
		}
		if req.GrantID != "" { // replayed: end what the first use got
			refusal = invalidGrant("this code was used already")
			tx.DeleteOAuthGrant(req.GrantID)
			return tx.DeleteOAuthRequest(req.ID)
		}
		if refusal = s.checkCodeRequest(req, c, method, p, f("redirect_uri"), verifier, now); refusal != nil {
			return nil
		}
		ttl := PublicSessionTTL
		if method == "private_key_jwt" {
			ttl = ConfidentialTTL
		}
		g = &store.OAuthGrant{
			ID: randomID(16), DID: req.DID, ClientID: c.ID, ClientName: c.Name, ClientAuth: method,
			Scope: req.Scope, Expanded: req.Expanded, JKT: p.JKT, CreatedAt: now, ExpiresAt: now.Add(ttl), RefreshedAt: now,
			Refresh: secretKey(refresh),
		}
		req.GrantID = g.ID
		if err := tx.PutOAuthRequest(req); err != nil {
			return err
		}
		return tx.PutOAuthGrant(g, "")
	})
	if err == nil {
		err = refusal
	}
	if err != nil {
		return nil, "", err
	}
	if err := s.accountUsable(g.DID); err != nil {
		return nil, "", err
	}
	return g, refresh, nil
}

func (s *Server) checkCodeRequest(req *store.OAuthRequest, c *Client, method string, p *proof, redirect, verifier string, now time.Time) error {
	switch {
	case req.DID == "" || now.After(req.CodeExpiresAt):
		return invalidGrant("the code has expired")
	case req.ClientID != c.ID || req.ClientAuth != method:
		return invalidGrant("the code was issued to another client")
	case redirect != req.RedirectURI:
		return invalidGrant("redirect_uri differs from the authorization request's")
	case req.JKT != p.JKT:
		return invalidGrant("the DPoP key differs from the authorization request's")
	case subtle.ConstantTimeCompare([]byte(sha256b64(verifier)), []byte(req.CodeChallenge)) != 1:
		return invalidGrant("code_verifier does not match the code_challenge")
	}
	return nil
}

// refresh rotates a refresh token: the old one is spent, and a new one
// continues the same grant, bound to the same DPoP key and client. A spent
// token coming back means two parties hold the grant's tokens: the whole
// grant ends, current refresh token and access tokens included (RFC 9700
// §4.14.2; the reference PDS does the same).
func (s *Server) refresh(r *http.Request, c *Client, method string, p *proof) (*store.OAuthGrant, string, error) {
	old := secretKey(r.PostFormValue("refresh_token"))
	next := randomID(32)
	now := s.d.Now()
	var g *store.OAuthGrant
	var refusal error
	err := s.d.DB.Update(r.Context(), func(tx *store.Tx) error {
		var err error
		refusal = nil
		if g, err = tx.OAuthGrantByRefresh(old); err != nil {
			// A grant remembers only its newest store.MaxSpentRefresh
			// spent tokens: an older one replayed lands here as unknown,
			// an invalid_grant that leaves the grant alone.
			refusal = invalidGrant("unknown, used or revoked refresh token")
			if spent, err := tx.OAuthGrantBySpent(old); err == nil {
				s.d.Log.Warn("oauth refresh token replayed: grant ended", "client", spent.ClientID, "did", spent.DID)
				refusal = invalidGrant("this refresh token was used already: the session has ended, sign in again")
				return tx.DeleteOAuthGrant(spent.ID)
			}
			return nil
		}
		switch {
		case now.After(g.ExpiresAt):
			refusal = invalidGrant("the session has ended: sign in again")
			return tx.DeleteOAuthGrant(g.ID)
		case g.ClientID != c.ID || g.ClientAuth != method:
			refusal = invalidGrant("the refresh token was issued to another client")
			return nil
		case g.JKT != p.JKT:
			refusal = invalidGrant("the DPoP key differs from the session's")
			return nil
		}
		g.Refresh, g.RefreshedAt = secretKey(next), now
		return tx.PutOAuthGrant(g, old)
	})
	if err == nil {
		err = refusal
	}
	if err != nil {
		return nil, "", err
	}
	if err := s.accountUsable(g.DID); err != nil {
		return nil, "", err
	}
	return g, next, nil
}

// accountUsable refuses tokens for a deleted or taken-down account.
func (s *Server) accountUsable(did string) error {
	a, err := s.d.Accounts.Get(did)
	if err != nil {
		return invalidGrant("the account is gone")
	}
	if a.Status == account.StatusTakendown {
		return invalidGrant("the account has been taken down")
	}
	return nil
}

type accessHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
}

type accessClaims struct {
	Iss      string `json:"iss"`
	Sub      string `json:"sub"`
	Aud      string `json:"aud"`
	Jti      string `json:"jti"`
	Iat      int64  `json:"iat"`
	Exp      int64  `json:"exp"`
	Scope    string `json:"scope"`
	ClientID string `json:"client_id"`
	Cnf      struct {
		JKT string `json:"jkt"`
	} `json:"cnf"`
}

// mintAccess signs a short access token for g. Its jti starts with the
// grant's id, so the resource server can tell at each use whether the
// grant still stands.
func (s *Server) mintAccess(g *store.OAuthGrant) (string, error) {
	now := s.d.Now()
	c := accessClaims{
		Iss: s.cfg.Issuer, Sub: g.DID, Aud: s.cfg.Issuer, Jti: g.ID + "." + randomID(9),
		Iat: now.Unix(), Exp: now.Add(AccessTTL).Unix(), Scope: g.Scope, ClientID: g.ClientID,
	}
	c.Cnf.JKT = g.JKT
	return encodeJWS(accessHeader{Alg: "ES256", Typ: "at+jwt", Kid: s.kid}, c, s.key.Sign)
}

// revoke ends the grant of an access or a refresh token (RFC 7009). An
// access token ends its whole grant too: the official client signs out by
// revoking only that one. As RFC 7009 §2.1 (and the reference PDS) has it,
// the client authenticates first, and a token issued to another client is
// refused; unknown tokens get the same 200.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) error {
	c, method, err := s.authenticateClient(r.Context(), r)
	if err != nil {
		return err
	}
	tok := r.PostFormValue("token")
	if tok == "" {
		return invalidRequest("token is required")
	}
	var refusal error
	err = s.d.DB.Update(r.Context(), func(tx *store.Tx) error {
		refusal = nil
		var g *store.OAuthGrant
		if t, err := s.parseAccess(tok); err == nil {
			g, err = tx.OAuthGrant(t.grant)
			if errors.Is(err, store.ErrNotFound) {
				return nil
			} else if err != nil {
				return err
			}
		} else if g, err = tx.OAuthGrantByRefresh(secretKey(tok)); err != nil {
			return nil
		}
		if g.ClientID != c.ID || g.ClientAuth != method {
			refusal = invalidGrant("the token was issued to another client")
			return nil
		}
		return tx.DeleteOAuthGrant(g.ID)
	})
	if err == nil {
		err = refusal
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{})
	return nil
}

// Grant is an app connected to an account, for the account page.
type Grant struct {
	ID, ClientID, ClientName string
	Scope                    string
	Permissions              *Permissions
	CreatedAt, UsedAt        time.Time
}

// Grants lists the apps connected to did.
func (s *Server) Grants(did string) ([]Grant, error) {
	var gs []store.OAuthGrant
	err := s.d.DB.View(func(tx *store.Tx) error {
		var err error
		gs, err = tx.OAuthGrantsOf(did)
		return err
	})
	out := make([]Grant, 0, len(gs))
	for _, g := range gs {
		out = append(out, Grant{ID: g.ID, ClientID: g.ClientID, ClientName: g.ClientName, Scope: g.Scope,
			Permissions: s.permissions(g.Scope, g.Expanded), CreatedAt: g.CreatedAt, UsedAt: g.RefreshedAt})
	}
	return out, err
}

// RevokeGrant ends the grant id of did, and forgets the remembered
// consent, so that the app must ask again.
func (s *Server) RevokeGrant(ctx context.Context, did, id string) error {
	return s.d.DB.Update(ctx, func(tx *store.Tx) error {
		g, err := tx.OAuthGrant(id)
		if err != nil || g.DID != did {
			return nil
		}
		if err := tx.ForgetOAuthConsent(did, g.ClientID); err != nil {
			return err
		}
		return tx.DeleteOAuthGrant(id)
	})
}

// Sweep deletes expired requests, grants, spent challenges and old
// sign-ins on browsers.
func (s *Server) Sweep(ctx context.Context) error {
	return s.d.DB.Update(ctx, func(tx *store.Tx) error {
		if err := tx.SweepOAuth(s.d.Now()); err != nil {
			return err
		}
		return tx.SweepOAuthDevices(s.d.Now().Add(-deviceKeep))
	})
}
