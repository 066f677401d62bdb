package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors; the XRPC layer maps them to ExpiredToken / InvalidToken.
var (
	ErrMalformed = errors.New("auth: malformed token")
	ErrSignature = errors.New("auth: bad token signature")
	ErrExpired   = errors.New("auth: token expired")
	ErrClaims    = errors.New("auth: token claims rejected")
)

// MaxTokenSize bounds what is parsed from a header.
const MaxTokenSize = 8 << 10

var b64 = base64.RawURLEncoding

// Header is a JWT header.
type Header struct {
	Alg string `json:"alg"`
	Typ string `json:"typ,omitempty"`
}

// Claims are the registered and atproto claims Hearth uses.
type Claims struct {
	Scope string `json:"scope,omitempty"`
	Sub   string `json:"sub,omitempty"`
	Aud   string `json:"aud,omitempty"`
	Iss   string `json:"iss,omitempty"`
	Iat   int64  `json:"iat,omitempty"`
	Exp   int64  `json:"exp,omitempty"`
	Jti   string `json:"jti,omitempty"`
	Lxm   string `json:"lxm,omitempty"`
}

// Token is a parsed, not yet verified, JWT.
type Token struct {
	Header Header
	Claims Claims
	signed string // header.payload
	sig    []byte
}

// Parse splits and decodes a compact JWT without verifying it.
func Parse(s string) (*Token, error) {
	if len(s) > MaxTokenSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrMalformed, len(s))
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: %d parts", ErrMalformed, len(parts))
	}
	t := &Token{signed: parts[0] + "." + parts[1]}
	for i, dst := range []any{&t.Header, &t.Claims} {
		raw, err := b64.DecodeString(parts[i])
		if err != nil {
			return nil, fmt.Errorf("%w: part %d: %v", ErrMalformed, i, err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return nil, fmt.Errorf("%w: part %d: %v", ErrMalformed, i, err)
		}
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrMalformed, err)
	}
	t.sig = sig
	return t, nil
}

// SignedPart is the header.payload that the signature covers.
func (t *Token) SignedPart() []byte { return []byte(t.signed) }

// Signature is the raw signature bytes.
func (t *Token) Signature() []byte { return t.sig }

// Encode builds a compact JWT with sign producing the signature over the
// header.payload bytes.
func Encode(h Header, c Claims, sign func([]byte) ([]byte, error)) (string, error) {
	hb, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	cb, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	signed := b64.EncodeToString(hb) + "." + b64.EncodeToString(cb)
	sig, err := sign([]byte(signed))
	if err != nil {
		return "", fmt.Errorf("auth: sign token: %w", err)
	}
	return signed + "." + b64.EncodeToString(sig), nil
}

// HS256 signs and verifies with a shared secret.
type HS256 []byte

// Sign computes the HMAC-SHA256 of msg.
func (k HS256) Sign(msg []byte) ([]byte, error) {
	m := hmac.New(sha256.New, k)
	m.Write(msg)
	return m.Sum(nil), nil
}

// Verify checks an HS256 token's signature in constant time.
func (k HS256) Verify(t *Token) error {
	if t.Header.Alg != "HS256" {
		return fmt.Errorf("%w: alg %q, want HS256", ErrSignature, t.Header.Alg)
	}
	want, _ := k.Sign(t.SignedPart())
	if !hmac.Equal(want, t.sig) {
		return ErrSignature
	}
	return nil
}

// Expect is what a verified token's claims must satisfy.
type Expect struct {
	Typ    string   // header typ, when non-empty
	Aud    string   // audience, when non-empty
	Scopes []string // one of these scopes, when non-empty
	Now    time.Time
	Leeway time.Duration
}

// Check validates claims against e.
func (t *Token) Check(e Expect) error {
	if e.Typ != "" && t.Header.Typ != e.Typ {
		return fmt.Errorf("%w: typ %q, want %q", ErrClaims, t.Header.Typ, e.Typ)
	}
	if t.Claims.Exp == 0 {
		return fmt.Errorf("%w: no exp", ErrClaims)
	}
	if e.Now.After(time.Unix(t.Claims.Exp, 0).Add(e.Leeway)) {
		return ErrExpired
	}
	if e.Aud != "" && t.Claims.Aud != e.Aud {
		return fmt.Errorf("%w: audience %q", ErrClaims, t.Claims.Aud)
	}
	if len(e.Scopes) > 0 {
		ok := false
		for _, s := range e.Scopes {
			if t.Claims.Scope == s {
				ok = true
			}
		}
		if !ok {
			return fmt.Errorf("%w: scope %q", ErrClaims, t.Claims.Scope)
		}
	}
	return nil
}
