package keys

import (
	"errors"
	"strings"
	"testing"
)

func FuzzParseDIDKey(f *testing.F) {
	for _, c := range sigCases(f) {
		f.Add(c.PublicKeyDid)
	}
	var w3c []struct {
		PublicDidKey string `json:"publicDidKey"`
	}
	readFixture(f, "w3c_didkey_K256.json", &w3c)
	for _, c := range w3c {
		f.Add(c.PublicDidKey)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseDIDKey(s)
		if err != nil {
			if !errors.Is(err, ErrUnsupportedKey) {
				t.Fatalf("error %v is not ErrUnsupportedKey", err)
			}
			return
		}
		// One key, one string: anything accepted is the canonical form.
		if got := k.DIDKey(); got != s {
			t.Fatalf("ParseDIDKey(%q).DIDKey() = %q", s, got)
		}
	})
}

func FuzzParseMultibase(f *testing.F) {
	for _, c := range sigCases(f) {
		f.Add(c.PublicKeyMultibase)
		f.Add(strings.TrimPrefix(c.PublicKeyDid, "did:key:"))
	}
	f.Fuzz(func(t *testing.T, s string) {
		if k, err := ParseMultibase(s); err == nil {
			if got := k.Multibase(); got != s {
				t.Fatalf("ParseMultibase(%q).Multibase() = %q", s, got)
			}
		} else if !errors.Is(err, ErrUnsupportedKey) {
			t.Fatalf("error %v is not ErrUnsupportedKey", err)
		}
		for _, alg := range []string{K256, P256} {
			k, err := ParseMultibaseBare(s, alg)
			if err != nil {
				if !errors.Is(err, ErrUnsupportedKey) {
					t.Fatalf("error %v is not ErrUnsupportedKey", err)
				}
				continue
			}
			for _, b := range [][]byte{k.Bytes(), k.UncompressedBytes()} {
				back, err := ParsePublic(alg, b)
				if err != nil || !back.Equal(k) {
					t.Fatalf("%s key from %q does not round-trip: %v", alg, s, err)
				}
			}
		}
	})
}

func FuzzVerify(f *testing.F) {
	cases := sigCases(f)
	for _, c := range cases {
		f.Add(b64(f, c.MessageBase64), b64(f, c.SignatureBase64), c.Algorithm == P256)
	}
	// The keys of the two valid cases, so seeds verify on the happy path.
	pubs := map[bool]PublicKey{}
	for _, c := range cases {
		if !c.ValidSignature {
			continue
		}
		k, err := ParseDIDKey(c.PublicKeyDid)
		if err != nil {
			f.Fatal(err)
		}
		pubs[c.Algorithm == P256] = k
	}
	if len(pubs) != 2 {
		f.Fatal("fixtures lack a valid case for each curve")
	}
	f.Fuzz(func(t *testing.T, msg, sig []byte, p256 bool) {
		pub := pubs[p256]
		err := pub.Verify(msg, sig)
		if err != nil {
			if !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("error %v is not ErrInvalidSignature", err)
			}
			return
		}
		if len(sig) != SignatureSize {
			t.Fatalf("accepted a %d-byte signature", len(sig))
		}
		if err := pub.Verify(msg, flipS(t, pub.Algorithm(), sig)); !errors.Is(err, ErrHighS) {
			t.Fatalf("high-S twin of an accepted signature: %v", err)
		}
	})
}

func FuzzParsePrivateString(f *testing.F) {
	f.Add("z3vLdj3jF2qD61AAETWRC6yHnwEBg4Z7LY8h69d1DBNzJ2h1")
	f.Add("z42trhNZPkHNQh97NA8uet3WJ1zvq3628w4K1i9fjdPbTSzU")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParsePrivateString(s)
		if err != nil {
			if !errors.Is(err, ErrUnsupportedKey) {
				t.Fatalf("error %v is not ErrUnsupportedKey", err)
			}
			return
		}
		if got := MarshalPrivate(k); got != s {
			t.Fatalf("ParsePrivateString(%q) marshals back as %q", s, got)
		}
	})
}
