package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/hearth-pds/hearth/store"
)

// checkDPoP verifies the DPoP proof of an authorization-server request,
// for the endpoint path.
func (s *Server) checkDPoP(r *http.Request, path string) (*proof, error) {
	return s.dpop.check(r, s.cfg.Issuer+path, "")
}

// par accepts a pushed authorization request (RFC 9126).
func (s *Server) par(w http.ResponseWriter, r *http.Request) error {
	p, err := s.checkDPoP(r, "/oauth/par")
	if err != nil {
		return err
	}
	c, method, err := s.authenticateClient(r.Context(), r)
	if err != nil {
		return err
	}
	req, err := s.parseAuthRequest(r.Context(), r.PostForm, c)
	if err != nil {
		return err
	}
	if jkt := r.PostFormValue("dpop_jkt"); jkt != "" && jkt != p.JKT {
		return invalidRequest("dpop_jkt does not match the DPoP proof")
	}
	req.JKT, req.ClientAuth = p.JKT, method
	err = s.d.DB.Update(r.Context(), func(tx *store.Tx) error {
		if err := tx.UseOAuthChallenge(secretKey(req.CodeChallenge), req.ExpiresAt.Add(ConfidentialTTL)); err != nil {
			return err
		}
		return tx.PutOAuthRequest(req)
	})
	if errors.Is(err, store.ErrExists) {
		return invalidRequest("this code_challenge was used before: make a new one for each request")
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"request_uri": requestURIPrefix + req.ID,
		"expires_in":  int(RequestTTL.Seconds()),
	})
	return nil
}

// parseAuthRequest checks the authorization parameters against the
// client's metadata.
func (s *Server) parseAuthRequest(ctx context.Context, f url.Values, c *Client) (*store.OAuthRequest, error) {
	if f.Get("request") != "" {
		return nil, oerr(http.StatusBadRequest, "request_not_supported", "request objects are not supported")
	}
	if f.Get("response_type") != "code" {
		return nil, oerr(http.StatusBadRequest, "unsupported_response_type", "response_type must be code")
	}
	switch f.Get("code_challenge_method") {
	case "S256":
	case "":
		if f.Get("code_challenge") == "" {
			return nil, invalidRequest("PKCE is required: send code_challenge with code_challenge_method S256")
		}
		return nil, invalidRequest("code_challenge_method must be S256")
	default:
		return nil, invalidRequest("code_challenge_method must be S256")
	}
	cc := f.Get("code_challenge")
	if !pkceValue(cc) {
		return nil, invalidRequest("code_challenge is malformed")
	}
	mode := f.Get("response_mode")
	if mode == "" {
		mode = "query"
	}
	if mode != "query" && mode != "fragment" {
		return nil, invalidRequest("response_mode must be query or fragment")
	}
	redirect := f.Get("redirect_uri")
	if redirect == "" && len(c.RedirectURIs) == 1 {
		redirect = c.RedirectURIs[0]
	}
	if !c.matchRedirect(redirect) {
		return nil, invalidRequest("redirect_uri is not one of the client's")
	}
	p, err := s.checkScope(ctx, f.Get("scope"), c)
	if err != nil {
		return nil, err
	}
	if len(f.Get("state")) > 2048 || len(f.Get("login_hint")) > 256 {
		return nil, invalidRequest("state or login_hint is too long")
	}
	prompt := f.Get("prompt")
	if !slices.Contains([]string{"", "none", "login", "consent", "select_account"}, prompt) {
		return nil, invalidRequest("prompt must be one of none, login, consent and select_account")
	}
	return &store.OAuthRequest{
		ID: randomID(24), ClientID: c.ID, RedirectURI: redirect, Scope: p.String(), Expanded: expanded(p), State: f.Get("state"),
		ResponseMode: mode, CodeChallenge: cc, LoginHint: f.Get("login_hint"), Prompt: prompt,
		ExpiresAt: s.d.Now().Add(RequestTTL),
	}, nil
}

// checkScope refuses a scope without atproto, beyond the client's own
// declaration or naming a permission set that does not resolve, and
// returns what will be granted.
func (s *Server) checkScope(ctx context.Context, scope string, c *Client) (*Permissions, error) {
	if scope == "" {
		scope = c.Scope
	}
	declared := strings.Fields(c.Scope)
	for _, sc := range strings.Fields(scope) {
		if !slices.Contains(declared, sc) {
			return nil, oerr(http.StatusBadRequest, "invalid_scope", "scope %q is not in the client's metadata", sc)
		}
	}
	sets, err := s.scopeSets(ctx, scope)
	if err != nil {
		return nil, err
	}
	p := ParseScope(scope, sets)
	if !p.Atproto {
		return nil, oerr(http.StatusBadRequest, "invalid_scope", "the scope must include atproto")
	}
	return p, nil
}

// expanded is what a request keeps of p's expansion: nothing when there
// was no set to expand.
func expanded(p *Permissions) string {
	if e := p.Expanded(); e != p.String() {
		return e
	}
	return ""
}

// pkceValue checks a code_challenge or code_verifier (RFC 7636 §4.1).
func pkceValue(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for _, r := range v {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)) {
			return false
		}
	}
	return true
}
