package account

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/identity/auth"
)

func TestVerifyCachedAccessTokens(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := now
	key := auth.HS256("secret")
	s := New(Config{ServiceDID: "did:web:pds.test"}, Deps{JWTKey: key, Now: func() time.Time { return clock }})
	access := func(key auth.HS256, typ string) string {
		tok, err := auth.Encode(auth.Header{Alg: "HS256", Typ: typ}, auth.Claims{
			Scope: ScopeAccess, Sub: "did:plc:a", Aud: "did:web:pds.test", Jti: "s1",
			Iat: now.Unix(), Exp: now.Add(AccessTTL).Unix(),
		}, key.Sign)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tok := access(key, "at+jwt")
	for _, tc := range []struct {
		name  string
		at    time.Time
		key   auth.HS256
		token string
		want  error // nil: verified
	}{
		{"first use", now, key, tok, nil},
		{"again, from the cache", now.Add(time.Minute), key, tok, nil},
		{"expired, though cached", now.Add(AccessTTL + time.Second), key, tok, ErrExpiredToken},
		{"the key changed", now, auth.HS256("other"), tok, ErrInvalidToken},
		{"tampered", now, key, tok[:len(tok)-2] + "AA", ErrInvalidToken},
		{"a refresh-typed token is no access token", now, key, access(key, "refresh+jwt"), ErrInvalidToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock, s.JWTKey = tc.at, tc.key
			c, err := s.Verify(tc.token, false)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("Verify: %v", err)
			case tc.want == nil && (c.DID != "did:plc:a" || c.ID != "s1"):
				t.Fatalf("credentials %+v", c)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("Verify: %v, want %v", err, tc.want)
			}
		})
	}
	if s.tokens.get(tok, key) == nil {
		t.Fatal("a verified access token is not cached")
	}
}

func TestTokenCacheIsBounded(t *testing.T) {
	c := newTokenCache()
	for i := range 3 * maxCachedTokens {
		c.put(fmt.Sprint(i), auth.HS256("k"), &auth.Token{})
	}
	if n := len(c.entries); n > maxCachedTokens {
		t.Fatalf("%d entries, want at most %d", n, maxCachedTokens)
	}
}
