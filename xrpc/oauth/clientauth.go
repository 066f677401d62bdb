package oauth

import (
	"context"
	"net/http"
	"time"
)

// authenticateClient loads the client of a form request and checks how it
// proves itself: "none" for public clients, a private_key_jwt assertion
// signed by one of its keys for confidential ones. It returns the method.
func (s *Server) authenticateClient(ctx context.Context, r *http.Request) (*Client, string, error) {
	id := r.PostFormValue("client_id")
	if id == "" {
		return nil, "", invalidRequest("client_id is required")
	}
	c, err := s.clients.get(ctx, id)
	if err != nil {
		return nil, "", err
	}
	if !c.Confidential() {
		if r.PostFormValue("client_assertion") != "" {
			return nil, "", oerr(http.StatusBadRequest, "invalid_client", "this client is public: no client_assertion")
		}
		return c, "none", nil
	}
	if r.PostFormValue("client_assertion_type") != assertionType {
		return nil, "", oerr(http.StatusBadRequest, "invalid_client", "client_assertion_type must be %s", assertionType)
	}
	if err := s.checkAssertion(ctx, c, r.PostFormValue("client_assertion")); err != nil {
		return nil, "", err
	}
	return c, "private_key_jwt", nil
}

func (s *Server) checkAssertion(ctx context.Context, c *Client, assertion string) error {
	bad := func(why string) error {
		return oerr(http.StatusBadRequest, "invalid_client", "client assertion: %s", why)
	}
	t, err := parseJWS(assertion)
	if err != nil {
		return bad("not a JWT")
	}
	k, err := s.clients.key(ctx, c, t.Header.Kid)
	if err != nil {
		return bad("no key of the client matches its kid")
	}
	pub, err := k.publicKey()
	if err != nil {
		return bad("the client's key is not a P-256 key")
	}
	if err := t.verifyES256(pub); err != nil {
		return bad("signature does not verify")
	}
	cl := &t.Claims
	now := s.d.Now()
	switch {
	case cl.Iss != c.ID || cl.Sub != c.ID:
		return bad("iss and sub must be the client_id")
	case !cl.audience(s.cfg.Issuer):
		return bad("aud must be the issuer")
	case cl.Exp != 0 && now.After(time.Unix(cl.Exp, 0)):
		return bad("expired")
	case cl.Iat == 0 || time.Unix(cl.Iat, 0).Before(now.Add(-proofMaxAge)) || time.Unix(cl.Iat, 0).After(now.Add(proofMaxSkew)):
		return bad("iat out of range")
	case cl.Jti == "" || !s.dpop.fresh("assertion:"+cl.Jti, now):
		return bad("jti missing or replayed")
	}
	return nil
}
