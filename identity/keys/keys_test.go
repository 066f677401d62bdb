package keys

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/mr-tron/base58"
)

// readFixture decodes testdata/name into v, failing (never skipping) when
// the file is missing, empty or not JSON.
func readFixture(t testing.TB, name string, v any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		t.Fatalf("fixture %s is empty", name)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
}

type sigCase struct {
	Comment            string   `json:"comment"`
	MessageBase64      string   `json:"messageBase64"`
	Algorithm          string   `json:"algorithm"`
	DIDDocSuite        string   `json:"didDocSuite"`
	PublicKeyDid       string   `json:"publicKeyDid"`
	PublicKeyMultibase string   `json:"publicKeyMultibase"`
	SignatureBase64    string   `json:"signatureBase64"`
	ValidSignature     bool     `json:"validSignature"`
	Tags               []string `json:"tags"`
}

func sigCases(t testing.TB) []sigCase {
	t.Helper()
	var cases []sigCase
	readFixture(t, "signature-fixtures.json", &cases)
	if len(cases) == 0 {
		t.Fatal("signature-fixtures.json holds no cases")
	}
	return cases
}

func b64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("base64 %q: %v", s, err)
	}
	return b
}

func TestSignatureFixtures(t *testing.T) {
	for _, c := range sigCases(t) {
		t.Run(c.Comment, func(t *testing.T) {
			msg, sig := b64(t, c.MessageBase64), b64(t, c.SignatureBase64)
			fromDID, err := ParseDIDKey(c.PublicKeyDid)
			if err != nil {
				t.Fatalf("ParseDIDKey: %v", err)
			}
			fromMB, err := ParseMultibaseBare(c.PublicKeyMultibase, c.Algorithm)
			if err != nil {
				t.Fatalf("ParseMultibaseBare: %v", err)
			}
			if fromDID.Algorithm() != c.Algorithm || !fromDID.Equal(fromMB) {
				t.Fatalf("did:key gives %s key, multibase disagrees: %v", fromDID.Algorithm(), !fromDID.Equal(fromMB))
			}
			if got := fromDID.DIDKey(); got != c.PublicKeyDid {
				t.Errorf("DIDKey() = %s, want %s", got, c.PublicKeyDid)
			}
			for _, k := range []PublicKey{fromDID, fromMB} {
				err := k.Verify(msg, sig)
				if c.ValidSignature {
					if err != nil {
						t.Errorf("Verify: %v", err)
					}
					continue
				}
				if !errors.Is(err, ErrInvalidSignature) {
					t.Errorf("Verify = %v, want ErrInvalidSignature", err)
				}
				for _, tag := range c.Tags {
					want := map[string]error{"high-s": ErrHighS, "der-encoded": ErrMalformedSignature}[tag]
					if want != nil && !errors.Is(err, want) {
						t.Errorf("tag %s: Verify = %v, want %v", tag, err, want)
					}
				}
			}
			// The high-S cases must fail only because of S: with S
			// normalised they are good signatures.
			if slices.Contains(c.Tags, "high-s") {
				if err := fromDID.Verify(msg, flipS(t, c.Algorithm, sig)); err != nil {
					t.Errorf("normalised high-S signature: %v", err)
				}
			}
		})
	}
}

func TestW3CDIDKeyK256(t *testing.T) {
	var cases []struct {
		PrivateKeyBytesHex string `json:"privateKeyBytesHex"`
		PublicDidKey       string `json:"publicDidKey"`
	}
	readFixture(t, "w3c_didkey_K256.json", &cases)
	if len(cases) == 0 {
		t.Fatal("w3c_didkey_K256.json holds no cases")
	}
	for _, c := range cases {
		t.Run(c.PublicDidKey, func(t *testing.T) {
			raw, err := hex.DecodeString(c.PrivateKeyBytesHex)
			if err != nil {
				t.Fatal(err)
			}
			checkDerivedDIDKey(t, K256, raw, c.PublicDidKey)
		})
	}
}

func TestW3CDIDKeyP256(t *testing.T) {
	var cases []struct {
		PrivateKeyBytesBase58 string `json:"privateKeyBytesBase58"`
		PublicDidKey          string `json:"publicDidKey"`
	}
	readFixture(t, "w3c_didkey_P256.json", &cases)
	if len(cases) == 0 {
		t.Fatal("w3c_didkey_P256.json holds no cases")
	}
	for _, c := range cases {
		t.Run(c.PublicDidKey, func(t *testing.T) {
			raw, err := base58.Decode(c.PrivateKeyBytesBase58)
			if err != nil {
				t.Fatal(err)
			}
			checkDerivedDIDKey(t, P256, raw, c.PublicDidKey)
		})
	}
}

func checkDerivedDIDKey(t *testing.T, alg string, scalar []byte, want string) {
	t.Helper()
	k, err := ParsePrivate(alg, scalar)
	if err != nil {
		t.Fatalf("ParsePrivate: %v", err)
	}
	if !bytes.Equal(k.Bytes(), scalar) {
		t.Errorf("Bytes() = %x, want %x", k.Bytes(), scalar)
	}
	if got := k.Public().DIDKey(); got != want {
		t.Errorf("DIDKey() = %s, want %s", got, want)
	}
	back, err := ParseDIDKey(want)
	if err != nil {
		t.Fatalf("ParseDIDKey: %v", err)
	}
	if !back.Equal(k.Public()) || back.Algorithm() != alg {
		t.Errorf("parsed did:key is a different key")
	}
}

var curves = []struct {
	alg string
	gen func() (PrivateKey, error)
	n   *big.Int
}{
	{K256, GenerateK256, secp256k1.S256().N},
	{P256, GenerateP256, elliptic.P256().Params().N},
}

func orderOf(t testing.TB, alg string) *big.Int {
	for _, c := range curves {
		if c.alg == alg {
			return c.n
		}
	}
	t.Fatalf("no curve %q", alg)
	return nil
}

// flipS returns sig with S replaced by n−S: the other, equally valid ECDSA
// signature that atproto forbids (or, for a high-S input, the allowed one).
func flipS(t testing.TB, alg string, sig []byte) []byte {
	t.Helper()
	n := orderOf(t, alg)
	out := bytes.Clone(sig)
	new(big.Int).Sub(n, new(big.Int).SetBytes(sig[32:])).FillBytes(out[32:])
	return out
}

func TestSignVerify(t *testing.T) {
	msg := []byte("hello world")
	for _, c := range curves {
		t.Run(c.alg, func(t *testing.T) {
			k, err := c.gen()
			if err != nil {
				t.Fatal(err)
			}
			pub := k.Public()
			if k.Algorithm() != c.alg || pub.Algorithm() != c.alg {
				t.Fatalf("Algorithm() = %s/%s", k.Algorithm(), pub.Algorithm())
			}
			half := new(big.Int).Rsh(c.n, 1)
			// P-256 signatures are random, so about half would be high-S
			// without normalisation: check many.
			for range 64 {
				sig, err := k.Sign(msg)
				if err != nil {
					t.Fatal(err)
				}
				if len(sig) != SignatureSize {
					t.Fatalf("signature of %d bytes", len(sig))
				}
				if new(big.Int).SetBytes(sig[32:]).Cmp(half) > 0 {
					t.Fatalf("Sign produced high S: %x", sig)
				}
				if err := pub.Verify(msg, sig); err != nil {
					t.Fatalf("Verify: %v", err)
				}
			}
			sig, _ := k.Sign(msg)
			der, err := asn1.Marshal(struct{ R, S *big.Int }{
				new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]),
			})
			if err != nil {
				t.Fatal(err)
			}
			rs := func(r, s *big.Int) []byte {
				b := make([]byte, 64)
				r.FillBytes(b[:32])
				s.FillBytes(b[32:])
				return b
			}
			r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
			// r+n reduces to r: a verifier that reduces instead of
			// rejecting would accept it. It fits in 32 bytes only when r
			// is small enough, so fall back to the all-ones pattern.
			sum := new(big.Int).Add(r, c.n)
			if sum.BitLen() > 256 {
				sum.Lsh(big.NewInt(1), 256).Sub(sum, big.NewInt(1))
			}
			rPlusN := rs(sum, s)
			tampered := bytes.Clone(msg)
			tampered[0] ^= 1
			for _, tc := range []struct {
				name string
				msg  []byte
				sig  []byte
				want error // besides ErrInvalidSignature, which every case wants
			}{
				{"tampered message", tampered, sig, ErrInvalidSignature},
				{"empty message", nil, sig, ErrInvalidSignature},
				{"tampered r", msg, append([]byte{sig[0] ^ 0x80}, sig[1:]...), ErrInvalidSignature},
				{"high S", msg, flipS(t, c.alg, sig), ErrHighS},
				{"DER", msg, der, ErrMalformedSignature},
				{"65 bytes", msg, append(bytes.Clone(sig), 0), ErrMalformedSignature},
				{"63 bytes", msg, sig[:63], ErrMalformedSignature},
				{"empty", msg, nil, ErrMalformedSignature},
				{"r zero", msg, rs(big.NewInt(0), s), ErrInvalidSignature},
				{"s zero", msg, rs(r, big.NewInt(0)), ErrInvalidSignature},
				{"r = n", msg, rs(c.n, s), ErrInvalidSignature},
				{"s = n", msg, rs(r, c.n), ErrInvalidSignature},
				{"r + n", msg, rPlusN, ErrInvalidSignature},
				{"all ones", msg, bytes.Repeat([]byte{0xff}, 64), ErrInvalidSignature},
			} {
				err := pub.Verify(tc.msg, tc.sig)
				if !errors.Is(err, ErrInvalidSignature) || !errors.Is(err, tc.want) {
					t.Errorf("%s: Verify = %v, want %v", tc.name, err, tc.want)
				}
			}
		})
	}
}

func TestWrongCurve(t *testing.T) {
	msg := []byte("m")
	k, _ := GenerateK256()
	p, _ := GenerateP256()
	for _, tc := range []struct {
		name        string
		signer      PrivateKey
		verifier    PublicKey
		verifierAlg string
	}{
		{"K-256 signature, P-256 key", k, p.Public(), P256},
		{"P-256 signature, K-256 key", p, k.Public(), K256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sig, err := tc.signer.Sign(msg)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.verifier.Verify(msg, sig); !errors.Is(err, ErrInvalidSignature) {
				t.Errorf("Verify = %v, want ErrInvalidSignature", err)
			}
			// The same point bytes read as the other curve are either not
			// a point there or a different key that rejects the signature.
			other, err := ParsePublic(tc.verifierAlg, tc.signer.Public().Bytes())
			if err != nil {
				if !errors.Is(err, ErrUnsupportedKey) {
					t.Errorf("ParsePublic = %v, want ErrUnsupportedKey", err)
				}
				return
			}
			if other.Equal(tc.signer.Public()) {
				t.Error("keys on different curves compare equal")
			}
			if other.Verify(msg, sig) == nil {
				t.Error("signature verified under the other curve")
			}
		})
	}
}

func TestEncodingsRoundTrip(t *testing.T) {
	for _, c := range curves {
		t.Run(c.alg, func(t *testing.T) {
			k, err := c.gen()
			if err != nil {
				t.Fatal(err)
			}
			pub := k.Public()
			if len(pub.Bytes()) != 33 || len(pub.UncompressedBytes()) != 65 || len(k.Bytes()) != 32 {
				t.Fatalf("sizes %d/%d/%d", len(pub.Bytes()), len(pub.UncompressedBytes()), len(k.Bytes()))
			}
			parse := []struct {
				name string
				fn   func() (PublicKey, error)
			}{
				{"DIDKey", func() (PublicKey, error) { return ParseDIDKey(pub.DIDKey()) }},
				{"Multibase", func() (PublicKey, error) { return ParseMultibase(pub.Multibase()) }},
				{"compressed", func() (PublicKey, error) { return ParsePublic(c.alg, pub.Bytes()) }},
				{"uncompressed", func() (PublicKey, error) { return ParsePublic(c.alg, pub.UncompressedBytes()) }},
				{"bare compressed", func() (PublicKey, error) {
					return ParseMultibaseBare("z"+base58.Encode(pub.Bytes()), c.alg)
				}},
				{"bare uncompressed", func() (PublicKey, error) {
					return ParseMultibaseBare("z"+base58.Encode(pub.UncompressedBytes()), c.alg)
				}},
			}
			for _, p := range parse {
				got, err := p.fn()
				if err != nil {
					t.Errorf("%s: %v", p.name, err)
					continue
				}
				if !got.Equal(pub) || !bytes.Equal(got.UncompressedBytes(), pub.UncompressedBytes()) {
					t.Errorf("%s: round trip gave a different key", p.name)
				}
			}
			back, err := ParsePrivateString(MarshalPrivate(k))
			if err != nil {
				t.Fatalf("ParsePrivateString: %v", err)
			}
			if back.Algorithm() != c.alg || !bytes.Equal(back.Bytes(), k.Bytes()) || !back.Public().Equal(pub) {
				t.Errorf("MarshalPrivate round trip gave a different key")
			}
			back, err = ParsePrivate(c.alg, k.Bytes())
			if err != nil || !back.Public().Equal(pub) {
				t.Errorf("ParsePrivate round trip: %v", err)
			}
		})
	}
}

// TestMarshalPrivateGolden pins the stored private-key format: keys already
// in databases must keep loading.
func TestMarshalPrivateGolden(t *testing.T) {
	for _, tc := range []struct {
		alg    string
		scalar string // hex
		want   string
	}{
		{K256, "9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c", "z3vLdj3jF2qD61AAETWRC6yHnwEBg4Z7LY8h69d1DBNzJ2h1"},
		// The w3c_didkey_P256.json scalar, 9p4VRzdmhsnq869vQjVCTrRry7u4TtfRxhvBFJTGU2Cp in base58.
		{P256, "82ebbd63ebbd9ff60141a69bd4c9be282f2415e8eafa9d42c0ed396daccca979", "z42trhNZPkHNQh97NA8uet3WJ1zvq3628w4K1i9fjdPbTSzU"},
	} {
		t.Run(tc.alg, func(t *testing.T) {
			raw, _ := hex.DecodeString(tc.scalar)
			k, err := ParsePrivate(tc.alg, raw)
			if err != nil {
				t.Fatal(err)
			}
			if got := MarshalPrivate(k); got != tc.want {
				t.Errorf("MarshalPrivate = %s, want %s", got, tc.want)
			}
			back, err := ParsePrivateString(tc.want)
			if err != nil || !bytes.Equal(back.Bytes(), raw) || back.Algorithm() != tc.alg {
				t.Errorf("ParsePrivateString(%s) = %v", tc.want, err)
			}
		})
	}
}

// TestK256Deterministic pins RFC 6979 signing: the same key and message
// always give the same signature.
func TestK256Deterministic(t *testing.T) {
	raw, _ := hex.DecodeString("9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c")
	k, err := ParsePrivateK256(raw)
	if err != nil {
		t.Fatal(err)
	}
	const want = "1fa27734493c5849cad10fd98342c4173a0f34521701a8bc9f71a01d30c491d06220c93d7117af5faf73454040259d00c69805b8ab696c28f07627404261afd8"
	for range 2 {
		sig, err := k.Sign([]byte("hello"))
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(sig); got != want {
			t.Fatalf("Sign = %s, want %s", got, want)
		}
	}
}

// TestP256AgainstStdlib checks the compact signatures against the standard
// library's own verifier, independently of this package's Verify.
func TestP256AgainstStdlib(t *testing.T) {
	k, _ := GenerateP256()
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), k.Public().UncompressedBytes())
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("stdlib")
	sig, _ := k.Sign(msg)
	h := sha256.Sum256(msg)
	if !ecdsa.Verify(pub, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("standard library rejects our signature")
	}
}

func TestParseRejects(t *testing.T) {
	k, _ := GenerateK256()
	p, _ := GenerateP256()
	enc := func(prefix []byte, b ...[]byte) string {
		buf := bytes.Clone(prefix)
		for _, x := range b {
			buf = append(buf, x...)
		}
		return "z" + base58.Encode(buf)
	}
	hybrid := k.Public().UncompressedBytes()
	hybrid[0] = 6 | hybrid[64]&1
	badPrefix := k.Public().Bytes()
	badPrefix[0] = 5
	xTooBig := append([]byte{2}, bytes.Repeat([]byte{0xff}, 32)...)
	ed25519 := []byte{0xed, 0x01}
	n := func(alg string) []byte { return orderOf(t, alg).FillBytes(make([]byte, 32)) }

	for _, tc := range []struct {
		name string
		fn   func() error
	}{
		{"did:key empty", func() error { _, err := ParseDIDKey(""); return err }},
		{"did:key no prefix", func() error { _, err := ParseDIDKey(k.Public().Multibase()); return err }},
		{"did:key upper case", func() error { _, err := ParseDIDKey("DID:KEY:" + k.Public().Multibase()); return err }},
		{"did:key no body", func() error { _, err := ParseDIDKey("did:key:"); return err }},
		{"did:key not base58btc", func() error { _, err := ParseDIDKey("did:key:f" + hex.EncodeToString(k.Public().Bytes())); return err }},
		{"did:key bad base58", func() error { _, err := ParseDIDKey("did:key:zQ3s0OIl"); return err }},
		{"did:key ed25519", func() error {
			_, err := ParseDIDKey("did:key:" + enc(ed25519, bytes.Repeat([]byte{1}, 32)))
			return err
		}},
		{"did:key uncompressed", func() error {
			_, err := ParseDIDKey("did:key:" + enc(codecK256Pub, k.Public().UncompressedBytes()))
			return err
		}},
		{"did:key trailing byte", func() error {
			_, err := ParseDIDKey("did:key:" + enc(codecP256Pub, p.Public().Bytes(), []byte{0}))
			return err
		}},
		{"did:key leading zero", func() error {
			_, err := ParseDIDKey("did:key:" + enc([]byte{0}, codecK256Pub, k.Public().Bytes()))
			return err
		}},
		{"did:key trailing space", func() error { _, err := ParseDIDKey(k.Public().DIDKey() + " "); return err }},
		{"multibase overlong", func() error { _, err := ParseMultibase("z" + strings.Repeat("c", 100_000)); return err }},
		{"bare overlong", func() error { _, err := ParseMultibaseBare("z"+strings.Repeat("1", 92), K256); return err }},
		{"multibase codec only", func() error { _, err := ParseMultibase(enc(codecK256Pub)); return err }},
		{"multibase point prefix 05", func() error { _, err := ParseMultibase(enc(codecK256Pub, badPrefix)); return err }},
		{"multibase K-256 x ≥ p", func() error { _, err := ParseMultibase(enc(codecK256Pub, xTooBig)); return err }},
		{"multibase P-256 x ≥ p", func() error { _, err := ParseMultibase(enc(codecP256Pub, xTooBig)); return err }},
		{"bare K-256 hybrid", func() error { _, err := ParseMultibaseBare(enc(nil, hybrid), K256); return err }},
		{"bare no z", func() error { _, err := ParseMultibaseBare(base58.Encode(k.Public().Bytes()), K256); return err }},
		{"bare unknown alg", func() error { _, err := ParseMultibaseBare(enc(nil, k.Public().Bytes()), "EdDSA"); return err }},
		{"public P-256 hybrid", func() error {
			h := p.Public().UncompressedBytes()
			h[0] = 6 | h[64]&1
			_, err := ParsePublic(P256, h)
			return err
		}},
		{"public P-256 off curve", func() error {
			u := p.Public().UncompressedBytes()
			u[64] ^= 1
			_, err := ParsePublic(P256, u)
			return err
		}},
		{"public K-256 off curve", func() error {
			u := k.Public().UncompressedBytes()
			u[64] ^= 1
			_, err := ParsePublic(K256, u)
			return err
		}},
		{"public 32 bytes", func() error { _, err := ParsePublic(K256, k.Public().Bytes()[1:]); return err }},
		{"public nil", func() error { _, err := ParsePublic(P256, nil); return err }},
		{"private unknown alg", func() error { _, err := ParsePrivate("HS256", k.Bytes()); return err }},
		{"private K-256 zero", func() error { _, err := ParsePrivateK256(make([]byte, 32)); return err }},
		{"private P-256 zero", func() error { _, err := ParsePrivateP256(make([]byte, 32)); return err }},
		{"private K-256 = n", func() error { _, err := ParsePrivateK256(n(K256)); return err }},
		{"private P-256 = n", func() error { _, err := ParsePrivateP256(n(P256)); return err }},
		{"private 31 bytes", func() error { _, err := ParsePrivateK256(k.Bytes()[1:]); return err }},
		{"private 33 bytes", func() error { _, err := ParsePrivateP256(append([]byte{0}, p.Bytes()...)); return err }},
		{"private string empty", func() error { _, err := ParsePrivateString(""); return err }},
		{"private string public codec", func() error { _, err := ParsePrivateString(enc(codecK256Pub, k.Bytes())); return err }},
		{"private string short", func() error { _, err := ParsePrivateString(enc(codecK256Priv, k.Bytes()[1:])); return err }},
		{"private string public key", func() error { _, err := ParsePrivateString(k.Public().Multibase()); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.fn(); !errors.Is(err, ErrUnsupportedKey) {
				t.Errorf("got %v, want ErrUnsupportedKey", err)
			}
		})
	}
}

func TestMarshalPrivatePanicsOnForeignKey(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MarshalPrivate accepted an unknown algorithm")
		}
	}()
	MarshalPrivate(foreignKey{})
}

type foreignKey struct{ PrivateKey }

func (foreignKey) Algorithm() string { return "EdDSA" }
