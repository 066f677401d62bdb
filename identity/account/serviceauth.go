package account

import (
	"context"
	"strings"
	"time"

	"github.com/hearth-pds/hearth/identity/auth"
	"github.com/hearth-pds/hearth/identity/keys"
)

// VerifyServiceAuth checks a service-auth JWT another service signed with
// an account's repo key: issued by a DID for this PDS (aud), for the
// method lxm, not expired, and signed by the key in the issuer's DID
// document — fetched again once if the cached document's key does not
// match, since the key may just have rotated. It returns the issuer DID.
func (s *Service) VerifyServiceAuth(ctx context.Context, token, lxm string) (string, error) {
	bad := func(msg string) (string, error) { return "", fail(ErrInvalidToken, "%s", msg) }
	p, err := auth.Parse(token)
	if err != nil {
		return bad("Token could not be verified")
	}
	if p.Header.Alg != keys.K256 && p.Header.Alg != keys.P256 {
		return bad("Service token has an unsupported algorithm")
	}
	c := p.Claims
	iss, _, _ := strings.Cut(c.Iss, "#")
	switch {
	case !strings.HasPrefix(iss, "did:"):
		return bad("Service token has no issuer DID")
	case c.Aud != s.cfg.ServiceDID:
		return bad("Service token is for another service")
	case c.Lxm != lxm:
		return bad("Service token is for another method")
	case c.Exp == 0 || s.Now().After(time.Unix(c.Exp, 0)):
		return "", fail(ErrExpiredToken, "Service token has expired")
	case c.Exp-c.Iat > int64(time.Hour/time.Second) && c.Iat != 0:
		return bad("Service token lives too long")
	}
	if s.Resolver == nil {
		return bad("Token could not be verified")
	}
	for attempt := 0; attempt < 2; attempt++ {
		if attempt > 0 {
			s.Resolver.Forget(iss)
		}
		doc, err := s.Resolver.ResolveDID(ctx, iss)
		if err != nil {
			s.Log.Info("service auth: issuer did not resolve", "iss", iss, "err", err)
			continue
		}
		key, err := doc.SigningKey()
		if err != nil || key.Algorithm() != p.Header.Alg {
			continue
		}
		if key.Verify(p.SignedPart(), p.Signature()) == nil {
			return iss, nil
		}
	}
	return bad("Service token signature could not be verified")
}
