package plc

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/hearth-pds/hearth/identity/keys"
)

func loadLog(t *testing.T, name string) []LogEntry {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var entries []LogEntry
	if err := json.Unmarshal(b, &entries); err != nil {
		t.Fatal(err)
	}
	return entries
}

// TestKnownLogs checks DID derivation, CIDs, prev chains and signatures
// against logs other implementations wrote (see testdata/README.md).
func TestKnownLogs(t *testing.T) {
	tests := []struct {
		file   string
		did    string
		handle string
		pds    string
	}{
		{"atproto_com.json", "did:plc:ewvi7nxzyoun6zhxrhs64oiz", "at://atproto.com", "https://bsky.social"},
		{"legacy_create.json", "did:plc:ragtjsm2j2vknwkz3zp4oxrd", "at://paul.bsky.social", "https://bsky.social"},
		{"nullification_72h.json", "did:plc:huyin2bxfj3bpg3gjq64nazd", "at://op3", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			entries := loadLog(t, tt.file)
			var valid []Op
			for i, e := range entries {
				c, err := e.Operation.CID()
				if err != nil || c.String() != e.CID {
					t.Fatalf("entry %d: CID %s, %v; want %s", i, c, err, e.CID)
				}
				if !e.Nullified {
					valid = append(valid, e.Operation)
				}
			}
			did, err := DIDFromGenesis(entries[0].Operation)
			if err != nil || did != tt.did {
				t.Fatalf("DIDFromGenesis = %s, %v; want %s", did, err, tt.did)
			}
			s, err := VerifyLog(tt.did, valid)
			if err != nil {
				t.Fatal(err)
			}
			if s.AlsoKnownAs[0] != tt.handle || s.Services[ServicePDS].Endpoint != tt.pds {
				t.Fatalf("state %+v", s)
			}
			// The nullified operation is validly signed too, yet does not
			// chain with the one that replaced it.
			if len(valid) < len(entries) {
				var all []Op
				for _, e := range entries {
					all = append(all, e.Operation)
				}
				if _, err := VerifyLog(tt.did, all); !errors.Is(err, ErrInvalidOp) {
					t.Fatalf("log with the nullified fork: %v", err)
				}
			}
			// Any change to the genesis changes the DID and voids its signature.
			g, _ := ParseOp(mustJSON(t, entries[0].Operation))
			switch o := g.(type) {
			case *Operation:
				o.AlsoKnownAs = append(o.AlsoKnownAs, "at://mallory.example.com")
			case *LegacyCreate:
				o.Handle = "mallory.bsky.social"
			}
			if d, _ := DIDFromGenesis(g); d == tt.did {
				t.Fatal("tampered genesis kept its DID")
			}
			if err := g.Verify(parseKeys(g.rotationKeys())...); !errors.Is(err, ErrSignature) {
				t.Fatalf("tampered genesis: %v", err)
			}
		})
	}
}

func TestLegacyUpgrade(t *testing.T) {
	l := loadLog(t, "legacy_create.json")[0].Operation.(*LegacyCreate)
	s := l.Upgrade().State("did:plc:ragtjsm2j2vknwkz3zp4oxrd")
	want := []string{l.RecoveryKey, l.SigningKey}
	if strings.Join(s.RotationKeys, ",") != strings.Join(want, ",") ||
		s.VerificationMethods[VerificationMethodAtproto] != l.SigningKey ||
		s.AlsoKnownAs[0] != "at://paul.bsky.social" ||
		s.Services[ServicePDS] != (Service{Type: ServiceTypePDS, Endpoint: "https://bsky.social"}) {
		t.Fatalf("upgraded state %+v", s)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newKey(t *testing.T, gen func() (keys.PrivateKey, error)) keys.PrivateKey {
	t.Helper()
	k, err := gen()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func signedGenesis(t *testing.T, rot keys.PrivateKey) *Operation {
	t.Helper()
	signing := newKey(t, keys.GenerateK256)
	op := Genesis([]string{rot.Public().DIDKey()}, signing.Public().DIDKey(), "alice.example.com", "https://pds.example.com")
	if err := op.Sign(rot); err != nil {
		t.Fatal(err)
	}
	return op
}

// TestEncoding checks the DAG-CBOR form: keys sorted length-first, prev an
// explicit null in a genesis, sig absent from the signed bytes.
func TestEncoding(t *testing.T) {
	rot := newKey(t, keys.GenerateK256)
	op := signedGenesis(t, rot)
	signed, err := signedBytes(op)
	if err != nil {
		t.Fatal(err)
	}
	order := []string{"sig", "prev", "type", "services", "alsoKnownAs", "rotationKeys", "verificationMethods"}
	if signed[0] != 0xa7 {
		t.Fatalf("map header %#x, want 7 entries", signed[0])
	}
	last := 0
	for _, k := range order {
		i := bytes.Index(signed, append([]byte{0x60 | byte(len(k))}, k...))
		if i < last {
			t.Fatalf("key %q at %d, before the previous key at %d", k, i, last)
		}
		last = i
	}
	if !bytes.Contains(signed, []byte("\x64prev\xf6")) {
		t.Fatal("prev is not an explicit null")
	}
	// Inside services, "type" (4) precedes "endpoint" (8).
	if bytes.Index(signed, []byte("\x64type\x78\x19AtprotoPersonalDataServer")) > bytes.Index(signed, []byte("\x68endpoint")) {
		t.Fatal("service fields out of order")
	}
	unsigned, _ := op.unsigned()
	if unsigned[0] != 0xa6 || bytes.Contains(unsigned, []byte("\x63sig")) {
		t.Fatal("the signed message holds a sig field")
	}
	did, err := DIDFromGenesis(op)
	if err != nil || len(did) != 32 || !strings.HasPrefix(did, "did:plc:") {
		t.Fatalf("DID %q, %v", did, err)
	}

	// JSON: prev is an explicit null too, and the op survives a round trip.
	j := mustJSON(t, op)
	if !bytes.Contains(j, []byte(`"prev":null`)) {
		t.Fatalf("JSON without an explicit prev: %s", j)
	}
	back, err := ParseOp(j)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := DIDFromGenesis(back); d != did {
		t.Fatalf("round trip changed the DID: %s", d)
	}
}

func TestSignAndVerify(t *testing.T) {
	for _, gen := range []func() (keys.PrivateKey, error){keys.GenerateK256, keys.GenerateP256} {
		rot := newKey(t, gen)
		op := signedGenesis(t, rot)
		if err := op.Verify(rot.Public()); err != nil {
			t.Fatalf("%s: %v", rot.Algorithm(), err)
		}
		if err := op.VerifyWith(op.RotationKeys); err != nil {
			t.Fatalf("%s: %v", rot.Algorithm(), err)
		}
		other := newKey(t, gen)
		if err := op.Verify(other.Public()); !errors.Is(err, ErrSignature) {
			t.Fatalf("%s, wrong key: %v", rot.Algorithm(), err)
		}
		if err := op.Verify(); !errors.Is(err, ErrSignature) {
			t.Fatalf("%s, no key: %v", rot.Algorithm(), err)
		}
	}

	rot := newKey(t, keys.GenerateK256)
	base := signedGenesis(t, rot)
	prevCID, _ := base.CID()
	tampered := []struct {
		name   string
		change func(op *Operation)
	}{
		{"alsoKnownAs", func(op *Operation) { op.AlsoKnownAs[0] = "at://mallory.example.com" }},
		{"rotation keys", func(op *Operation) {
			op.RotationKeys = append(op.RotationKeys, newKey(t, keys.GenerateK256).Public().DIDKey())
		}},
		{"signing key", func(op *Operation) {
			op.VerificationMethods[VerificationMethodAtproto] = newKey(t, keys.GenerateK256).Public().DIDKey()
		}},
		{"service", func(op *Operation) { op.SetPDS("https://evil.example.com") }},
		{"prev", func(op *Operation) { p := prevCID.String(); op.Prev = &p }},
		{"sig padded", func(op *Operation) { op.Sig += "==" }},
		{"sig with a newline", func(op *Operation) { op.Sig = op.Sig[:40] + "\n" + op.Sig[40:] }},
		{"sig in standard base64", func(op *Operation) {
			raw, _ := base64.RawURLEncoding.DecodeString(op.Sig)
			op.Sig = base64.RawStdEncoding.EncodeToString(raw)
			if op.Sig == base.Sig {
				op.Sig = "+" + op.Sig[1:] // no - or _ by chance: force one
			}
		}},
		{"sig trailing bits", func(op *Operation) {
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			last := strings.IndexByte(alphabet, op.Sig[len(op.Sig)-1])
			op.Sig = op.Sig[:len(op.Sig)-1] + string(alphabet[last|1])
		}},
		{"sig truncated", func(op *Operation) { op.Sig = op.Sig[:80] }},
		{"sig high S", func(op *Operation) {
			raw, _ := base64.RawURLEncoding.DecodeString(op.Sig)
			var s secp256k1.ModNScalar
			s.SetByteSlice(raw[32:])
			s.Negate()
			b := s.Bytes()
			copy(raw[32:], b[:])
			op.Sig = base64.RawURLEncoding.EncodeToString(raw)
		}},
	}
	for _, tt := range tampered {
		t.Run(tt.name, func(t *testing.T) {
			op, err := ParseOp(mustJSON(t, base))
			if err != nil {
				t.Fatal(err)
			}
			tt.change(op.(*Operation))
			if err := op.Verify(rot.Public()); err == nil {
				t.Fatal("verified")
			}
		})
	}
	if err := base.Verify(rot.Public()); err != nil {
		t.Fatalf("the original stopped verifying: %v", err)
	}
}

func TestValidate(t *testing.T) {
	k := newKey(t, keys.GenerateK256)
	dk := k.Public().DIDKey()
	manyKeys := func(n int) []string {
		var ks []string
		for range n {
			ks = append(ks, newKey(t, keys.GenerateK256).Public().DIDKey())
		}
		return ks
	}
	bad := []struct {
		name   string
		change func(op *Operation)
	}{
		{"type", func(op *Operation) { op.Type = "plc_tombstone" }},
		{"no rotation keys", func(op *Operation) { op.RotationKeys = []string{} }},
		{"six rotation keys", func(op *Operation) { op.RotationKeys = manyKeys(6) }},
		{"duplicate rotation key", func(op *Operation) { op.RotationKeys = []string{dk, dk} }},
		{"rotation key not a did:key", func(op *Operation) { op.RotationKeys = []string{"did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"} }},
		{"rotation key of another curve", func(op *Operation) {
			op.RotationKeys = []string{"did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"} // ed25519
		}},
		{"eleven verification methods", func(op *Operation) {
			for i, key := range manyKeys(11) {
				op.VerificationMethods[string(rune('a'+i))] = key
			}
		}},
		{"verification method not a did:key", func(op *Operation) { op.VerificationMethods["atproto"] = "zQ3sh" }},
		{"nil alsoKnownAs", func(op *Operation) { op.AlsoKnownAs = nil }},
		{"nil services", func(op *Operation) { op.Services = nil }},
		{"prev not a CID", func(op *Operation) { p := "bafy-not-a-cid"; op.Prev = &p }},
		{"prev a raw CID", func(op *Operation) { p := "bafkreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"; op.Prev = &p }},
		{"too big", func(op *Operation) { op.AlsoKnownAs = []string{"at://" + strings.Repeat("a", MaxOpSize)} }},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			op := Genesis([]string{dk}, dk, "alice.example.com", "https://pds.example.com")
			tt.change(op)
			if err := op.Validate(); !errors.Is(err, ErrInvalidOp) {
				t.Fatalf("Validate = %v", err)
			}
			if err := op.Sign(k); !errors.Is(err, ErrInvalidOp) || op.Sig != "" {
				t.Fatalf("Sign = %v, sig %q", err, op.Sig)
			}
		})
	}
	// Ed25519 and the like are fine as verification methods.
	op := Genesis([]string{dk}, "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", "a.example.com", "https://p.example.com")
	if err := op.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, ts := range []*Tombstone{{Type: "plc_operation", Prev: "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"}, {Type: TypeTombstone}} {
		if err := ts.Validate(); !errors.Is(err, ErrInvalidOp) {
			t.Errorf("tombstone %+v: %v", ts, err)
		}
	}
}

func TestParseOpStrict(t *testing.T) {
	rot := newKey(t, keys.GenerateK256)
	good := string(mustJSON(t, signedGenesis(t, rot)))
	if _, err := ParseOp([]byte(good)); err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{
		"unknown field":         strings.Replace(good, `"type"`, `"extra":1,"type"`, 1),
		"field in another case": strings.Replace(good, `"alsoKnownAs"`, `"AlsoKnownAs"`, 1),
		"missing prev":          strings.Replace(good, `"prev":null,`, ``, 1),
		"prev not a string":     strings.Replace(good, `"prev":null`, `"prev":1`, 1),
		"service extra field":   strings.Replace(good, `"endpoint"`, `"priority":1,"endpoint"`, 1),
		"service in caps":       strings.Replace(good, `"endpoint"`, `"Endpoint"`, 1),
		"unknown type":          strings.Replace(good, `"plc_operation"`, `"plc_whatever"`, 1),
		"trailing data":         good + `{}`,
		"not an object":         `["plc_operation"]`,
		"null":                  `null`,
		"tombstone with keys":   `{"type":"plc_tombstone","prev":"bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm","rotationKeys":[]}`,
		"create missing handle": `{"type":"create","signingKey":"a","recoveryKey":"b","service":"c","prev":null}`,
	}
	for name, in := range bad {
		if in == good {
			t.Fatalf("%s: the replacement did not apply", name)
		}
		if op, err := ParseOp([]byte(in)); err == nil {
			t.Errorf("%s: parsed as %+v", name, op)
		}
	}
}

func TestUpdates(t *testing.T) {
	rot := newKey(t, keys.GenerateK256)
	genesis := signedGenesis(t, rot)
	genesis.AlsoKnownAs = append(genesis.AlsoKnownAs, "https://alice.example.com")
	if err := genesis.Sign(rot); err != nil {
		t.Fatal(err)
	}
	did, _ := DIDFromGenesis(genesis)

	next, err := genesis.Next()
	if err != nil {
		t.Fatal(err)
	}
	next.SetHandle("alice2.example.com")
	if strings.Join(next.AlsoKnownAs, " ") != "at://alice2.example.com https://alice.example.com" {
		t.Fatalf("alsoKnownAs %v", next.AlsoKnownAs)
	}
	if next.VerificationMethods[VerificationMethodAtproto] != genesis.VerificationMethods[VerificationMethodAtproto] {
		t.Fatal("the signing key changed")
	}
	next.VerificationMethods["other"] = "did:key:zQ3shunBKsXixLxKtC5qeSG9E4J5RkGN57im31pcTzbNQnm5w"
	if _, ok := genesis.VerificationMethods["other"]; ok {
		t.Fatal("Next shares its maps with the operation before")
	}
	delete(next.VerificationMethods, "other")
	// A new rotation key signs nothing until the op that adds it is in.
	newRot := newKey(t, keys.GenerateP256)
	next.RotationKeys = []string{newRot.Public().DIDKey(), rot.Public().DIDKey()}
	if err := next.Sign(newRot); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyLog(did, []Op{genesis, next}); !errors.Is(err, ErrSignature) {
		t.Fatalf("update signed by a key it adds: %v", err)
	}
	if err := next.Sign(rot); err != nil {
		t.Fatal(err)
	}

	compat, err := UpdateHandle(next, "alice3.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := compat.Sign(newRot); err != nil {
		t.Fatal(err)
	}
	s, err := VerifyLog(did, []Op{genesis, next, compat})
	if err != nil {
		t.Fatal(err)
	}
	if s.DID != did || s.AlsoKnownAs[0] != "at://alice3.example.com" || len(s.RotationKeys) != 2 {
		t.Fatalf("state %+v", s)
	}
	doc := s.Document()
	if h, _ := doc.Handle(); h != "alice3.example.com" {
		t.Fatalf("document handle %q", h)
	}
	if ep, _ := doc.PDSEndpoint(); ep != "https://pds.example.com" {
		t.Fatalf("document PDS %q", ep)
	}
	if k, err := doc.SigningKey(); err != nil || k.DIDKey() != genesis.VerificationMethods[VerificationMethodAtproto] {
		t.Fatalf("document key %v, %v", k, err)
	}

	c, _ := compat.CID()
	tomb := NewTombstone(c.String())
	if err := tomb.Sign(rot); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyLog(did, []Op{genesis, next, compat, tomb}); !errors.Is(err, ErrTombstoned) {
		t.Fatalf("tombstoned log: %v", err)
	}
	tc, _ := tomb.CID()
	after := s.Next(tc.String())
	if err := after.Sign(rot); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyLog(did, []Op{genesis, next, compat, tomb, after}); !errors.Is(err, ErrInvalidOp) {
		t.Fatalf("operation after a tombstone: %v", err)
	}
	if _, err := VerifyLog("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", []Op{genesis}); !errors.Is(err, ErrInvalidOp) {
		t.Fatalf("genesis of another DID: %v", err)
	}
	if _, err := DIDFromGenesis(next); !errors.Is(err, ErrInvalidOp) {
		t.Fatalf("DID of an update: %v", err)
	}
	if _, err := DIDFromGenesis(Genesis([]string{rot.Public().DIDKey()}, rot.Public().DIDKey(), "", "")); !errors.Is(err, ErrInvalidOp) {
		t.Fatalf("DID of an unsigned genesis: %v", err)
	}
}

func TestSetHandleWithoutOne(t *testing.T) {
	op := &Operation{AlsoKnownAs: []string{"https://example.com"}}
	op.SetHandle("a.example.com")
	if strings.Join(op.AlsoKnownAs, " ") != "at://a.example.com https://example.com" {
		t.Fatalf("%v", op.AlsoKnownAs)
	}
}

// FuzzParseOp decodes operations as a directory or a peer may send them:
// no panics, and what parses survives a JSON round trip with the same CID.
func FuzzParseOp(f *testing.F) {
	for _, name := range []string{"atproto_com.json", "legacy_create.json", "nullification_72h.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		var entries []struct{ Operation json.RawMessage }
		if err := json.Unmarshal(b, &entries); err != nil {
			f.Fatal(err)
		}
		for _, e := range entries {
			f.Add([]byte(e.Operation))
		}
	}
	f.Add([]byte(`{"type":"plc_tombstone","prev":"bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm","sig":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		op, err := ParseOp(data)
		if err != nil {
			return
		}
		_ = op.Validate()
		_ = op.Verify(parseKeys(op.rotationKeys())...)
		_, _ = DIDFromGenesis(op)
		c1, err1 := op.CID()
		again, err := ParseOp(mustJSON(t, op))
		if err != nil {
			t.Fatalf("re-encoded operation does not parse: %v", err)
		}
		c2, err2 := again.CID()
		if (err1 == nil) != (err2 == nil) || c1 != c2 {
			t.Fatalf("round trip changed the CID: %s %v, %s %v", c1, err1, c2, err2)
		}
	})
}
