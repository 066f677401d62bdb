package keys

import (
	"fmt"
	"strings"

	"github.com/mr-tron/base58"
)

const didKeyPrefix = "did:key:"

// Multicodec prefixes, as unsigned varints: secp256k1-pub 0xe7,
// p256-pub 0x1200, secp256k1-priv 0x1301, p256-priv 0x1306.
var (
	codecK256Pub  = []byte{0xe7, 0x01}
	codecP256Pub  = []byte{0x80, 0x24}
	codecK256Priv = []byte{0x81, 0x26}
	codecP256Priv = []byte{0x86, 0x26}
)

func multibase(codec, b []byte) string {
	buf := make([]byte, 0, len(codec)+len(b))
	return "z" + base58.Encode(append(append(buf, codec...), b...))
}

// maxMultibaseLen bounds the strings worth decoding: the longest value
// here, a 65-byte uncompressed point, is at most 89 base58 digits. Base58
// decoding is quadratic, so a huge string in a hostile DID document would
// otherwise cost seconds of CPU.
const maxMultibaseLen = 1 + 90

// decodeBase58btc strips the multibase "z" and decodes the rest; atproto
// uses no other multibase alphabet for keys.
func decodeBase58btc(s string) ([]byte, error) {
	if len(s) > maxMultibaseLen {
		return nil, fmt.Errorf("%w: multibase of %d characters", ErrUnsupportedKey, len(s))
	}
	rest, ok := strings.CutPrefix(s, "z")
	if !ok {
		return nil, fmt.Errorf("%w: multibase is not base58btc (z…)", ErrUnsupportedKey)
	}
	raw, err := base58.Decode(rest)
	if err != nil {
		return nil, fmt.Errorf("%w: base58: %v", ErrUnsupportedKey, err)
	}
	return raw, nil
}

// ParseMultibase parses z + base58btc(multicodec prefix ‖ compressed point),
// the publicKeyMultibase form of a Multikey and the body of a did:key.
// Only the compressed point is accepted, as in the reference implementation,
// so each key has exactly one string form and strings compare as keys do.
func ParseMultibase(s string) (PublicKey, error) {
	raw, err := decodeBase58btc(s)
	if err != nil {
		return nil, err
	}
	if len(raw) != 2+33 {
		return nil, fmt.Errorf("%w: multikey of %d bytes, want 35", ErrUnsupportedKey, len(raw))
	}
	codec, point := raw[:2], raw[2:]
	switch string(codec) {
	case string(codecK256Pub):
		return parsePublicK256(point)
	case string(codecP256Pub):
		return parsePublicP256(point)
	}
	return nil, fmt.Errorf("%w: multicodec %x", ErrUnsupportedKey, codec)
}

// ParseMultibaseBare parses z + base58btc(point) with no multicodec prefix,
// as legacy DID documents carry it (the verification method type names the
// curve, so alg comes from there). Compressed and uncompressed points are
// both accepted, since legacy documents used both.
func ParseMultibaseBare(s, alg string) (PublicKey, error) {
	raw, err := decodeBase58btc(s)
	if err != nil {
		return nil, err
	}
	return ParsePublic(alg, raw)
}

// ParseDIDKey parses a did:key:z… string holding a K-256 or P-256 key.
func ParseDIDKey(s string) (PublicKey, error) {
	rest, ok := strings.CutPrefix(s, didKeyPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: %q is not a did:key", ErrUnsupportedKey, s)
	}
	return ParseMultibase(rest)
}

// MarshalPrivate exports a private key as z + base58btc(private-key
// multicodec prefix ‖ 32-byte scalar), the form the server stores and
// ParsePrivateString reads. It panics on a key whose Algorithm is neither
// K256 nor P256, which no key from this package has: writing such a key
// out under a guessed prefix would lose it.
func MarshalPrivate(k PrivateKey) string {
	switch alg := k.Algorithm(); alg {
	case K256:
		return multibase(codecK256Priv, k.Bytes())
	case P256:
		return multibase(codecP256Priv, k.Bytes())
	default:
		panic("keys: MarshalPrivate: unsupported algorithm " + alg)
	}
}

// ParsePrivateString reads what MarshalPrivate wrote.
func ParsePrivateString(s string) (PrivateKey, error) {
	raw, err := decodeBase58btc(s)
	if err != nil {
		return nil, err
	}
	if len(raw) != 2+32 {
		return nil, fmt.Errorf("%w: private multikey of %d bytes, want 34", ErrUnsupportedKey, len(raw))
	}
	codec, scalar := raw[:2], raw[2:]
	switch string(codec) {
	case string(codecK256Priv):
		return ParsePrivateK256(scalar)
	case string(codecP256Priv):
		return ParsePrivateP256(scalar)
	}
	return nil, fmt.Errorf("%w: private multicodec %x", ErrUnsupportedKey, codec)
}
