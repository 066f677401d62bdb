package oauth

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/hearth-pds/hearth/store"
)

// The authorization endpoint is a page: package web shows the sign-in and
// consent, and calls these functions. Pending checks what the browser
// brought; Approve and Deny end the request with the redirect to the app.

// Pending is an authorization request waiting for the account holder.
type Pending struct {
	ID          string
	Client      *Client
	Permissions *Permissions
	LoginHint   string
	RedirectURI string
	// Prompt is the app's wish: "", none, login, consent or select_account.
	Prompt string
	// Created is when the request was pushed: prompt=login needs a
	// sign-in after it.
	Created time.Time
}

// ErrUnknownRequest is a request_uri that is unknown, used or expired.
var ErrUnknownRequest = errors.New("oauth: unknown or expired authorization request")

// Pending loads the request the browser brings to /oauth/authorize.
func (s *Server) Pending(ctx context.Context, clientID, requestURI string) (*Pending, error) {
	id, ok := strings.CutPrefix(requestURI, requestURIPrefix)
	if !ok {
		return nil, ErrUnknownRequest
	}
	req, err := s.request(id)
	if err != nil {
		return nil, err
	}
	if req.ClientID != clientID || req.DID != "" {
		return nil, ErrUnknownRequest
	}
	c, err := s.clients.get(ctx, req.ClientID)
	if err != nil {
		return nil, err
	}
	return &Pending{
		ID: id, Client: c, Permissions: s.permissions(req.Scope, req.Expanded), LoginHint: req.LoginHint,
		RedirectURI: req.RedirectURI, Prompt: req.Prompt, Created: req.ExpiresAt.Add(-RequestTTL),
	}, nil
}

func (s *Server) request(id string) (*store.OAuthRequest, error) {
	var req *store.OAuthRequest
	err := s.d.DB.View(func(tx *store.Tx) error {
		var err error
		req, err = tx.OAuthRequest(id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) || (err == nil && s.d.Now().After(req.ExpiresAt)) {
		return nil, ErrUnknownRequest
	} else if err != nil {
		return nil, err
	}
	return req, nil
}

// Remembered reports whether did asked to remember its consent to this
// request's client for (at least) what this request grants. Both sides
// are the expanded scope, so a permission set republished with more in it
// asks again.
func (s *Server) Remembered(id, did string) bool {
	req, err := s.request(id)
	if err != nil {
		return false
	}
	var kept string
	s.d.DB.View(func(tx *store.Tx) error { kept = tx.OAuthConsent(did, req.ClientID); return nil })
	if kept == "" {
		return false
	}
	have := strings.Fields(kept)
	for _, sc := range strings.Fields(granted(req)) {
		if !contains(have, sc) {
			return false
		}
	}
	return true
}

// granted is what req grants, each permission set replaced by what it
// granted at PAR: the scope a remembered consent is kept for.
func granted(req *store.OAuthRequest) string {
	if req.Expanded != "" {
		return req.Expanded
	}
	return req.Scope
}

func contains(l []string, v string) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

// Approve gives the request to the account did (signed in by the page)
// and returns where to send the browser: the app, with a one-time code.
func (s *Server) Approve(ctx context.Context, id, did string, remember bool) (string, error) {
	code := randomID(32)
	var req *store.OAuthRequest
	err := s.d.DB.Update(ctx, func(tx *store.Tx) error {
		var err error
		if req, err = tx.OAuthRequest(id); err != nil {
			return ErrUnknownRequest
		}
		if req.DID != "" || s.d.Now().After(req.ExpiresAt) {
			return ErrUnknownRequest
		}
		req.DID, req.CodeHash, req.CodeExpiresAt = did, secretKey(code), s.d.Now().Add(CodeTTL)
		if remember {
			if err := tx.RememberOAuthConsent(did, req.ClientID, granted(req)); err != nil {
				return err
			}
		}
		if err := tx.PutOAuthCode(req.CodeHash, req.ID); err != nil {
			return err
		}
		return tx.PutOAuthRequest(req)
	})
	if err != nil {
		return "", err
	}
	return s.redirect(req, url.Values{"code": {code}}), nil
}

// Deny ends the request and returns the redirect that tells the app so.
func (s *Server) Deny(ctx context.Context, id string) (string, error) {
	return s.Refuse(ctx, id, "access_denied", "The account holder declined")
}

// Refuse ends the request with the error code (access_denied,
// login_required, consent_required …) and returns the redirect that tells
// the app so.
func (s *Server) Refuse(ctx context.Context, id, code, desc string) (string, error) {
	var req *store.OAuthRequest
	err := s.d.DB.Update(ctx, func(tx *store.Tx) error {
		var err error
		if req, err = tx.OAuthRequest(id); err != nil || req.DID != "" {
			return ErrUnknownRequest
		}
		return tx.DeleteOAuthRequest(id)
	})
	if err != nil {
		return "", err
	}
	return s.redirect(req, url.Values{"error": {code}, "error_description": {desc}}), nil
}

// redirect builds the authorization response: the values, the state and
// the issuer, in the query or the fragment as the request asked.
func (s *Server) redirect(req *store.OAuthRequest, v url.Values) string {
	v.Set("iss", s.cfg.Issuer)
	if req.State != "" {
		v.Set("state", req.State)
	}
	u, _ := url.Parse(req.RedirectURI)
	if req.ResponseMode == "fragment" {
		u.Fragment = ""
		return u.String() + "#" + v.Encode()
	}
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Redirect origin of a pending request, for the page's form-action policy.
func (p *Pending) RedirectOrigin() string {
	u, err := url.Parse(p.RedirectURI)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
