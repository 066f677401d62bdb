package keys

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	secpecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"github.com/mr-tron/base58"
)

// Algorithms, as JWT names them.
const (
	K256 = "ES256K"
	P256 = "ES256"
)

// Sentinel errors.
var (
	ErrInvalidSignature   = errors.New("keys: invalid signature")
	ErrHighS              = errors.New("keys: signature has high S")
	ErrMalformedSignature = errors.New("keys: signature is not 64-byte r||s")
	ErrUnsupportedKey     = errors.New("keys: unsupported key")
)

// PrivateKey signs.
type PrivateKey interface {
	Public() PublicKey
	Sign(msg []byte) ([]byte, error)
	Bytes() []byte
	Algorithm() string
}

// PublicKey verifies.
type PublicKey interface {
	Verify(msg, sig []byte) error
	Bytes() []byte
	UncompressedBytes() []byte
	DIDKey() string
	Multibase() string
	Algorithm() string
	Equal(PublicKey) bool
}

var (
	prefixK256Pub  = []byte{0xe7, 0x01}
	prefixP256Pub  = []byte{0x80, 0x24}
	prefixK256Priv = []byte{0x81, 0x26}
	prefixP256Priv = []byte{0x86, 0x26}
)

// --- K-256 ---

type k256Private struct{ k *secp256k1.PrivateKey }
type k256Public struct{ k *secp256k1.PublicKey }

// GenerateK256 makes a new secp256k1 key.
func GenerateK256() (PrivateKey, error) {
	k, err := secp256k1.GeneratePrivateKey()
	if err != nil {
		return nil, fmt.Errorf("keys: generate k256: %w", err)
	}
	return k256Private{k}, nil
}

// ParsePrivateK256 loads a 32-byte secp256k1 scalar.
func ParsePrivateK256(b []byte) (PrivateKey, error) {
	if len(b) != 32 {
		return nil, fmt.Errorf("%w: k256 private key of %d bytes", ErrUnsupportedKey, len(b))
	}
	var s secp256k1.ModNScalar
	if overflow := s.SetByteSlice(b); overflow || s.IsZero() {
		return nil, fmt.Errorf("%w: k256 scalar out of range", ErrUnsupportedKey)
	}
	return k256Private{secp256k1.NewPrivateKey(&s)}, nil
}

func (p k256Private) Public() PublicKey { return k256Public{p.k.PubKey()} }
func (p k256Private) Bytes() []byte     { return p.k.Serialize() }
func (p k256Private) Algorithm() string { return K256 }
func (p k256Private) Sign(msg []byte) ([]byte, error) {
	h := sha256.Sum256(msg)
	sig := secpecdsa.SignCompact(p.k, h[:], true) // 65 bytes: recovery ‖ r ‖ s, low-S
	return sig[1:], nil
}

func (p k256Public) Bytes() []byte             { return p.k.SerializeCompressed() }
func (p k256Public) UncompressedBytes() []byte { return p.k.SerializeUncompressed() }
func (p k256Public) Algorithm() string         { return K256 }
func (p k256Public) DIDKey() string            { return "did:key:" + p.Multibase() }
func (p k256Public) Multibase() string         { return multibase(prefixK256Pub, p.Bytes()) }
func (p k256Public) Equal(o PublicKey) bool {
	return o != nil && o.Algorithm() == K256 && string(o.Bytes()) == string(p.Bytes())
}

func (p k256Public) Verify(msg, sig []byte) error {
	if len(sig) != 64 {
		return ErrMalformedSignature
	}
	var r, s secp256k1.ModNScalar
	if r.SetByteSlice(sig[:32]) || s.SetByteSlice(sig[32:]) || r.IsZero() || s.IsZero() {
		return fmt.Errorf("%w: r or s out of range", ErrInvalidSignature)
	}
	if s.IsOverHalfOrder() {
		return ErrHighS
	}
	h := sha256.Sum256(msg)
	if !secpecdsa.NewSignature(&r, &s).Verify(h[:], p.k) {
		return ErrInvalidSignature
	}
	return nil
}

// --- P-256 ---

type p256Private struct{ k *ecdsa.PrivateKey }
type p256Public struct{ k *ecdsa.PublicKey }

var p256HalfN = new(big.Int).Rsh(elliptic.P256().Params().N, 1)

// GenerateP256 makes a new NIST P-256 key.
func GenerateP256() (PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("keys: generate p256: %w", err)
	}
	return p256Private{k}, nil
}

// ParsePrivateP256 loads a 32-byte P-256 scalar.
func ParsePrivateP256(b []byte) (PrivateKey, error) {
	if len(b) != 32 {
		return nil, fmt.Errorf("%w: p256 private key of %d bytes", ErrUnsupportedKey, len(b))
	}
	if _, err := ecdh.P256().NewPrivateKey(b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	return p256Private{k}, nil
}

func (p p256Private) Public() PublicKey { return p256Public{&p.k.PublicKey} }
func (p p256Private) Bytes() []byte {
	b, _ := p.k.Bytes()
	return b
}
func (p p256Private) Algorithm() string { return P256 }
func (p p256Private) Sign(msg []byte) ([]byte, error) {
	h := sha256.Sum256(msg)
	r, s, err := ecdsa.Sign(rand.Reader, p.k, h[:])
	if err != nil {
		return nil, fmt.Errorf("keys: sign: %w", err)
	}
	if s.Cmp(p256HalfN) > 0 {
		s.Sub(elliptic.P256().Params().N, s)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return sig, nil
}

func (p p256Public) Bytes() []byte {
	b, _ := p.k.Bytes() // uncompressed
	return elliptic.MarshalCompressed(elliptic.P256(), new(big.Int).SetBytes(b[1:33]), new(big.Int).SetBytes(b[33:]))
}
func (p p256Public) UncompressedBytes() []byte {
	b, _ := p.k.Bytes()
	return b
}
func (p p256Public) Algorithm() string { return P256 }
func (p p256Public) DIDKey() string    { return "did:key:" + p.Multibase() }
func (p p256Public) Multibase() string { return multibase(prefixP256Pub, p.Bytes()) }
func (p p256Public) Equal(o PublicKey) bool {
	return o != nil && o.Algorithm() == P256 && string(o.Bytes()) == string(p.Bytes())
}

func (p p256Public) Verify(msg, sig []byte) error {
	if len(sig) != 64 {
		return ErrMalformedSignature
	}
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	n := elliptic.P256().Params().N
	if r.Sign() == 0 || s.Sign() == 0 || r.Cmp(n) >= 0 || s.Cmp(n) >= 0 {
		return fmt.Errorf("%w: r or s out of range", ErrInvalidSignature)
	}
	if s.Cmp(p256HalfN) > 0 {
		return ErrHighS
	}
	h := sha256.Sum256(msg)
	if !ecdsa.Verify(p.k, h[:], r, s) {
		return ErrInvalidSignature
	}
	return nil
}

// --- encodings ---

func multibase(prefix, b []byte) string {
	return "z" + base58.Encode(append(append([]byte{}, prefix...), b...))
}

// ParsePublic loads a compressed (33-byte) or uncompressed (65-byte) point.
func ParsePublic(alg string, b []byte) (PublicKey, error) {
	switch alg {
	case K256:
		k, err := secp256k1.ParsePubKey(b)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
		}
		return k256Public{k}, nil
	case P256:
		var x, y *big.Int
		switch len(b) {
		case 33:
			x, y = elliptic.UnmarshalCompressed(elliptic.P256(), b)
		case 65:
			x, y = elliptic.Unmarshal(elliptic.P256(), b) //nolint:staticcheck // validates the point
		}
		if x == nil {
			return nil, fmt.Errorf("%w: not a P-256 point", ErrUnsupportedKey)
		}
		raw := elliptic.Marshal(elliptic.P256(), x, y) //nolint:staticcheck
		k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
		}
		return p256Public{k}, nil
	}
	return nil, fmt.Errorf("%w: algorithm %q", ErrUnsupportedKey, alg)
}

// ParseMultibase parses z+base58btc(multicodec prefix ‖ point).
func ParseMultibase(s string) (PublicKey, error) {
	if !strings.HasPrefix(s, "z") {
		return nil, fmt.Errorf("%w: multibase must be base58btc (z)", ErrUnsupportedKey)
	}
	raw, err := base58.Decode(s[1:])
	if err != nil || len(raw) < 3 {
		return nil, fmt.Errorf("%w: bad base58", ErrUnsupportedKey)
	}
	switch {
	case raw[0] == prefixK256Pub[0] && raw[1] == prefixK256Pub[1]:
		return ParsePublic(K256, raw[2:])
	case raw[0] == prefixP256Pub[0] && raw[1] == prefixP256Pub[1]:
		return ParsePublic(P256, raw[2:])
	}
	return nil, fmt.Errorf("%w: multicodec 0x%02x%02x", ErrUnsupportedKey, raw[0], raw[1])
}

// ParseMultibaseBare parses z+base58btc(point) with no multicodec prefix,
// as legacy DID documents carry it.
func ParseMultibaseBare(s, alg string) (PublicKey, error) {
	if !strings.HasPrefix(s, "z") {
		return nil, fmt.Errorf("%w: multibase must be base58btc (z)", ErrUnsupportedKey)
	}
	raw, err := base58.Decode(s[1:])
	if err != nil {
		return nil, fmt.Errorf("%w: bad base58", ErrUnsupportedKey)
	}
	return ParsePublic(alg, raw)
}

// ParseDIDKey parses did:key:z….
func ParseDIDKey(s string) (PublicKey, error) {
	rest, ok := strings.CutPrefix(s, "did:key:")
	if !ok {
		return nil, fmt.Errorf("%w: not a did:key", ErrUnsupportedKey)
	}
	return ParseMultibase(rest)
}

// ParsePrivate loads a raw 32-byte scalar for alg.
func ParsePrivate(alg string, b []byte) (PrivateKey, error) {
	switch alg {
	case K256:
		return ParsePrivateK256(b)
	case P256:
		return ParsePrivateP256(b)
	}
	return nil, fmt.Errorf("%w: algorithm %q", ErrUnsupportedKey, alg)
}

// MarshalPrivate exports a private key as multibase with the private-key
// multicodec prefix, for storage.
func MarshalPrivate(k PrivateKey) string {
	if k.Algorithm() == K256 {
		return multibase(prefixK256Priv, k.Bytes())
	}
	return multibase(prefixP256Priv, k.Bytes())
}

// ParsePrivateString reads what MarshalPrivate wrote.
func ParsePrivateString(s string) (PrivateKey, error) {
	if !strings.HasPrefix(s, "z") {
		return nil, fmt.Errorf("%w: private key must be multibase", ErrUnsupportedKey)
	}
	raw, err := base58.Decode(s[1:])
	if err != nil || len(raw) != 34 {
		return nil, fmt.Errorf("%w: bad private key encoding", ErrUnsupportedKey)
	}
	switch {
	case raw[0] == prefixK256Priv[0] && raw[1] == prefixK256Priv[1]:
		return ParsePrivateK256(raw[2:])
	case raw[0] == prefixP256Priv[0] && raw[1] == prefixP256Priv[1]:
		return ParsePrivateP256(raw[2:])
	}
	return nil, fmt.Errorf("%w: private multicodec", ErrUnsupportedKey)
}
