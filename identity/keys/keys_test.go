package keys

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/mr-tron/base58"
)

func readFixture(t testing.TB, name string, v any) {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	if len(raw) == 0 {
		t.Fatalf("fixture %s is empty", name)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
}

type sigCase struct {
	Comment            string   `json:"comment"`
	MessageBase64      string   `json:"messageBase64"`
	Algorithm          string   `json:"algorithm"`
	PublicKeyDid       string   `json:"publicKeyDid"`
	PublicKeyMultibase string   `json:"publicKeyMultibase"`
	SignatureBase64    string   `json:"signatureBase64"`
	ValidSignature     bool     `json:"validSignature"`
	Tags               []string `json:"tags"`
}

func TestSignatureVectors(t *testing.T) {
	var cases []sigCase
	readFixture(t, "signature-fixtures.json", &cases)
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	b64 := base64.RawStdEncoding
	for _, c := range cases {
		msg, err := b64.DecodeString(c.MessageBase64)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := b64.DecodeString(c.SignatureBase64)
		if err != nil {
			t.Fatal(err)
		}
		k1, err := ParseDIDKey(c.PublicKeyDid)
		if err != nil {
			t.Fatalf("%s: did:key: %v", c.Comment, err)
		}
		k2, err := ParseMultibaseBare(c.PublicKeyMultibase, c.Algorithm)
		if err != nil {
			t.Fatalf("%s: multibase: %v", c.Comment, err)
		}
		if !k1.Equal(k2) || k1.Algorithm() != c.Algorithm {
			t.Fatalf("%s: key forms disagree", c.Comment)
		}
		for _, k := range []PublicKey{k1, k2} {
			if err := k.Verify(msg, sig); (err == nil) != c.ValidSignature {
				t.Errorf("%s: Verify = %v, want valid=%v", c.Comment, err, c.ValidSignature)
			}
		}
	}
}

func TestDIDKeyVectors(t *testing.T) {
	var k256 []struct {
		PrivateKeyBytesHex string `json:"privateKeyBytesHex"`
		PublicDidKey       string `json:"publicDidKey"`
	}
	readFixture(t, "w3c_didkey_K256.json", &k256)
	var p256 []struct {
		PrivateKeyBytesBase58 string `json:"privateKeyBytesBase58"`
		PublicDidKey          string `json:"publicDidKey"`
	}
	readFixture(t, "w3c_didkey_P256.json", &p256)
	if len(k256) == 0 || len(p256) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range k256 {
		raw, _ := hex.DecodeString(c.PrivateKeyBytesHex)
		k, err := ParsePrivateK256(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := k.Public().DIDKey(); got != c.PublicDidKey {
			t.Errorf("K-256 did:key %s, want %s", got, c.PublicDidKey)
		}
		back, err := ParseDIDKey(c.PublicDidKey)
		if err != nil || !back.Equal(k.Public()) {
			t.Errorf("parse %s: %v", c.PublicDidKey, err)
		}
	}
	for _, c := range p256 {
		raw, _ := base58.Decode(c.PrivateKeyBytesBase58)
		k, err := ParsePrivateP256(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := k.Public().DIDKey(); got != c.PublicDidKey {
			t.Errorf("P-256 did:key %s, want %s", got, c.PublicDidKey)
		}
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, gen := range []func() (PrivateKey, error){GenerateK256, GenerateP256} {
		k, err := gen()
		if err != nil {
			t.Fatal(err)
		}
		msg := []byte("hello world")
		for i := 0; i < 50; i++ { // P-256 signatures are random: check low-S every time
			sig, err := k.Sign(msg)
			if err != nil || len(sig) != 64 {
				t.Fatalf("%s sign: %v, %d bytes", k.Algorithm(), err, len(sig))
			}
			if err := k.Public().Verify(msg, sig); err != nil {
				t.Fatalf("%s verify: %v", k.Algorithm(), err)
			}
			if i == 0 {
				if err := k.Public().Verify([]byte("hello worle"), sig); !errors.Is(err, ErrInvalidSignature) {
					t.Fatalf("tampered message: %v", err)
				}
				if err := k.Public().Verify(msg, highS(k.Algorithm(), sig)); !errors.Is(err, ErrHighS) {
					t.Fatalf("%s high-S: %v", k.Algorithm(), err)
				}
				if err := k.Public().Verify(msg, append(sig, 0)); !errors.Is(err, ErrMalformedSignature) {
					t.Fatalf("65-byte signature: %v", err)
				}
			}
		}
		// Export and import.
		back, err := ParsePrivateString(MarshalPrivate(k))
		if err != nil || !back.Public().Equal(k.Public()) {
			t.Fatalf("private round trip: %v", err)
		}
		pub, err := ParseMultibase(k.Public().Multibase())
		if err != nil || !pub.Equal(k.Public()) {
			t.Fatalf("multibase round trip: %v", err)
		}
		un, err := ParsePublic(k.Algorithm(), k.Public().UncompressedBytes())
		if err != nil || !un.Equal(k.Public()) {
			t.Fatalf("uncompressed: %v", err)
		}
	}
	k, _ := GenerateK256()
	p, _ := GenerateP256()
	sig, _ := k.Sign([]byte("x"))
	if p.Public().Verify([]byte("x"), sig) == nil {
		t.Fatal("K-256 signature verified with a P-256 key")
	}
}

func highS(alg string, sig []byte) []byte {
	var n *big.Int
	if alg == K256 {
		n = secp256k1.S256().N
	} else {
		n, _ = new(big.Int).SetString("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", 16)
	}
	s := new(big.Int).SetBytes(sig[32:])
	out := append([]byte(nil), sig...)
	new(big.Int).Sub(n, s).FillBytes(out[32:])
	return out
}

func FuzzParseDIDKey(f *testing.F) {
	var cases []sigCase
	readFixture(f, "signature-fixtures.json", &cases)
	for _, c := range cases {
		f.Add(c.PublicKeyDid)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseDIDKey(s)
		if err == nil {
			if _, err := ParseDIDKey(k.DIDKey()); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func FuzzVerify(f *testing.F) {
	k, _ := GenerateK256()
	p, _ := GenerateP256()
	sig, _ := k.Sign([]byte("m"))
	f.Add(sig, false)
	sig2, _ := p.Sign([]byte("m"))
	f.Add(sig2, true)
	f.Fuzz(func(t *testing.T, sig []byte, useP bool) {
		pub := k.Public()
		if useP {
			pub = p.Public()
		}
		pub.Verify([]byte("m"), sig)
	})
}

func BenchmarkSign(b *testing.B) {
	for _, gen := range []func() (PrivateKey, error){GenerateK256, GenerateP256} {
		k, _ := gen()
		b.Run(k.Algorithm(), func(b *testing.B) {
			for b.Loop() {
				k.Sign([]byte("a typical commit of about a hundred bytes ......................................"))
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, gen := range []func() (PrivateKey, error){GenerateK256, GenerateP256} {
		k, _ := gen()
		msg := []byte("a typical commit of about a hundred bytes ......................................")
		sig, _ := k.Sign(msg)
		b.Run(k.Algorithm(), func(b *testing.B) {
			for b.Loop() {
				k.Public().Verify(msg, sig)
			}
		})
	}
}
