package oauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

var b64 = base64.RawURLEncoding

// maxJWT bounds a proof or assertion before it is parsed.
const maxJWT = 8 << 10

// JWK is a public key as JSON. Only EC P-256 keys are used.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	Kid string `json:"kid,omitempty"`
	Alg string `json:"alg,omitempty"`
	Use string `json:"use,omitempty"`
	D   string `json:"d,omitempty"` // present only in private keys: refused
}

// jws is a parsed, not yet verified, compact JWS.
type jws struct {
	Header struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
		Kid string `json:"kid"`
		JWK *JWK   `json:"jwk"`
	}
	Claims jwtClaims
	signed string
	sig    []byte
}

type jwtClaims struct {
	Iss   string          `json:"iss"`
	Sub   string          `json:"sub"`
	Aud   json.RawMessage `json:"aud"`
	Jti   string          `json:"jti"`
	Iat   int64           `json:"iat"`
	Exp   int64           `json:"exp"`
	Htm   string          `json:"htm"`
	Htu   string          `json:"htu"`
	Ath   string          `json:"ath"`
	Nonce string          `json:"nonce"`
	Scope string          `json:"scope"`
	Cnf   *struct {
		JKT string `json:"jkt"`
	} `json:"cnf"`
	ClientID string `json:"client_id"`
}

var errJWT = errors.New("oauth: malformed JWT")

func parseJWS(s string) (*jws, error) {
	if len(s) > maxJWT {
		return nil, fmt.Errorf("%w: %d bytes", errJWT, len(s))
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: %d parts", errJWT, len(parts))
	}
	t := &jws{signed: parts[0] + "." + parts[1]}
	for i, dst := range []any{&t.Header, &t.Claims} {
		raw, err := b64.DecodeString(parts[i])
		if err != nil {
			return nil, fmt.Errorf("%w: part %d", errJWT, i)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return nil, fmt.Errorf("%w: part %d: %v", errJWT, i, err)
		}
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("%w: signature", errJWT)
	}
	t.sig = sig
	return t, nil
}

// headerOf returns the typ and alg of a compact JWS's header, or "" for
// both when the header does not decode.
func headerOf(s string) (typ, alg string) {
	head, _, ok := strings.Cut(s, ".")
	if !ok || len(head) > maxJWT {
		return "", ""
	}
	raw, err := b64.DecodeString(head)
	if err != nil {
		return "", ""
	}
	var h struct {
		Typ string `json:"typ"`
		Alg string `json:"alg"`
	}
	if json.Unmarshal(raw, &h) != nil {
		return "", ""
	}
	return h.Typ, h.Alg
}

// audience reports whether the aud claim (a string or an array) holds want.
func (c *jwtClaims) audience(want string) bool {
	var one string
	if json.Unmarshal(c.Aud, &one) == nil {
		return one == want
	}
	var many []string
	if json.Unmarshal(c.Aud, &many) == nil {
		for _, a := range many {
			if a == want {
				return true
			}
		}
	}
	return false
}

// publicKey turns an EC P-256 JWK into a key, refusing private keys and
// points off the curve.
func (k *JWK) publicKey() (*ecdsa.PublicKey, error) {
	if k == nil || k.Kty != "EC" || k.Crv != "P-256" || k.D != "" {
		return nil, errors.New("oauth: not a public EC P-256 JWK")
	}
	x, err1 := b64.DecodeString(k.X)
	y, err2 := b64.DecodeString(k.Y)
	if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
		return nil, errors.New("oauth: bad JWK coordinates")
	}
	u := append(append([]byte{4}, x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), u)
	if err != nil {
		return nil, fmt.Errorf("oauth: JWK: %w", err)
	}
	return pub, nil
}

// Thumbprint is the RFC 7638 SHA-256 thumbprint of an EC key.
func (k *JWK) Thumbprint() string {
	canon := `{"crv":"` + k.Crv + `","kty":"` + k.Kty + `","x":"` + k.X + `","y":"` + k.Y + `"}`
	h := sha256.Sum256([]byte(canon))
	return b64.EncodeToString(h[:])
}

// verifyES256 checks a JOSE ES256 signature (r‖s, 64 bytes; either S).
func (t *jws) verifyES256(pub *ecdsa.PublicKey) error {
	if t.Header.Alg != "ES256" {
		return fmt.Errorf("oauth: alg %q, want ES256", t.Header.Alg)
	}
	if len(t.sig) != 64 {
		return errors.New("oauth: ES256 signature is not 64 bytes")
	}
	h := sha256.Sum256([]byte(t.signed))
	r, s := new(big.Int).SetBytes(t.sig[:32]), new(big.Int).SetBytes(t.sig[32:])
	if !ecdsa.Verify(pub, h[:], r, s) {
		return errors.New("oauth: bad signature")
	}
	return nil
}

// encodeJWS signs header and claims with sign (ES256, r‖s).
func encodeJWS(header, claims any, sign func([]byte) ([]byte, error)) (string, error) {
	hb, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signed := b64.EncodeToString(hb) + "." + b64.EncodeToString(cb)
	sig, err := sign([]byte(signed))
	if err != nil {
		return "", err
	}
	return signed + "." + b64.EncodeToString(sig), nil
}

func sha256b64(s string) string {
	h := sha256.Sum256([]byte(s))
	return b64.EncodeToString(h[:])
}
