package resolve

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/hearth-pds/hearth/identity/keys"
	"github.com/mr-tron/base58"
)

// atprotoDotCom is the document plc.directory serves for the DID the
// did:plc spec uses as its example, in its current shape: absolute key id,
// relative service id.
const atprotoDotCom = `{
  "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1", "https://w3id.org/security/suites/secp256k1-2019/v1"],
  "id": "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
  "alsoKnownAs": ["at://atproto.com"],
  "verificationMethod": [{
    "id": "did:plc:ewvi7nxzyoun6zhxrhs64oiz#atproto",
    "type": "Multikey",
    "controller": "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
    "publicKeyMultibase": "zQ3shunBKsXixLxKtC5qeSG9E4J5RkGN57im31pcTzbNQnm5w"
  }],
  "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": "https://enoki.us-east.host.bsky.network"}]
}`

func TestDocumentHelpers(t *testing.T) {
	var doc Document
	if err := json.Unmarshal([]byte(atprotoDotCom), &doc); err != nil {
		t.Fatal(err)
	}
	if h, ok := doc.Handle(); !ok || h != "atproto.com" {
		t.Errorf("Handle = %q, %v", h, ok)
	}
	k, err := doc.SigningKey()
	if err != nil || k.DIDKey() != "did:key:zQ3shunBKsXixLxKtC5qeSG9E4J5RkGN57im31pcTzbNQnm5w" {
		t.Errorf("SigningKey = %v, %v", k, err)
	}
	if ep, ok := doc.PDSEndpoint(); !ok || ep != "https://enoki.us-east.host.bsky.network" {
		t.Errorf("PDSEndpoint = %q, %v", ep, ok)
	}
	for _, id := range []string{"atproto_pds", "#atproto_pds"} {
		if ep, ok := doc.ServiceEndpoint(id); !ok || ep != "https://enoki.us-east.host.bsky.network" {
			t.Errorf("ServiceEndpoint(%q) = %q, %v", id, ep, ok)
		}
	}
	if _, ok := doc.ServiceEndpoint("bsky_chat"); ok {
		t.Error("ServiceEndpoint of a missing service")
	}
}

func TestSigningKeyForms(t *testing.T) {
	k256, _ := keys.GenerateK256()
	p256, _ := keys.GenerateP256()
	bare := func(k keys.PublicKey) string { return "z" + base58.Encode(k.Bytes()) }
	bareUncompressed := func(k keys.PublicKey) string { return "z" + base58.Encode(k.UncompressedBytes()) }
	const did = "did:web:example.com"
	tests := []struct {
		name    string
		vm      VerificationMethod
		want    keys.PublicKey
		wantErr error
	}{
		{"multikey k256", VerificationMethod{ID: "#atproto", Type: TypeMultikey, PublicKeyMultibase: k256.Public().Multibase()}, k256.Public(), nil},
		{"multikey p256 absolute id", VerificationMethod{ID: did + "#atproto", Type: TypeMultikey, PublicKeyMultibase: p256.Public().Multibase()}, p256.Public(), nil},
		{"legacy k256", VerificationMethod{ID: "#atproto", Type: TypeLegacyK256, PublicKeyMultibase: bare(k256.Public())}, k256.Public(), nil},
		{"legacy k256 uncompressed", VerificationMethod{ID: "#atproto", Type: TypeLegacyK256, PublicKeyMultibase: bareUncompressed(k256.Public())}, k256.Public(), nil},
		{"legacy p256", VerificationMethod{ID: "#atproto", Type: TypeLegacyP256, PublicKeyMultibase: bare(p256.Public())}, p256.Public(), nil},
		{"other DID's key", VerificationMethod{ID: "did:web:other.com#atproto", Type: TypeMultikey, PublicKeyMultibase: k256.Public().Multibase()}, nil, ErrNotFound},
		{"other fragment", VerificationMethod{ID: "#atproto_label", Type: TypeMultikey, PublicKeyMultibase: k256.Public().Multibase()}, nil, ErrNotFound},
		{"unknown type", VerificationMethod{ID: "#atproto", Type: "JsonWebKey2020"}, nil, ErrInvalid},
		{"garbage key", VerificationMethod{ID: "#atproto", Type: TypeMultikey, PublicKeyMultibase: "zzzz"}, nil, ErrInvalid},
		{"legacy type, prefixed key", VerificationMethod{ID: "#atproto", Type: TypeLegacyP256, PublicKeyMultibase: k256.Public().Multibase()}, nil, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := Document{ID: did, VerificationMethod: []VerificationMethod{tt.vm}}
			got, err := doc.SigningKey()
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) {
				t.Fatalf("got %v, %v", got, err)
			}
		})
	}
}

func TestHandleAndPDSEdgeCases(t *testing.T) {
	tests := []struct {
		name     string
		doc      Document
		handle   string
		handleOK bool
		pds      string
		pdsOK    bool
	}{
		{"empty", Document{ID: "did:plc:x"}, "", false, "", false},
		{"first at:// wins, lower-cased", Document{ID: "did:plc:x", AlsoKnownAs: []string{"https://a.example", "at://Alice.Example.COM", "at://bob.example.com"}}, "alice.example.com", true, "", false},
		{"invalid first handle", Document{ID: "did:plc:x", AlsoKnownAs: []string{"at://not a handle", "at://bob.example.com"}}, "", false, "", false},
		{"pds needs its type", Document{ID: "did:plc:x", Service: []Service{{ID: "#atproto_pds", Type: "Other", ServiceEndpoint: "https://p.example"}}}, "", false, "https://p.example", false},
		{"pds endpoint must be a string", Document{ID: "did:plc:x", Service: []Service{{ID: "#atproto_pds", Type: TypePDS, ServiceEndpoint: map[string]any{"a": "b"}}}}, "", false, "", false},
		{"absolute service id", Document{ID: "did:plc:x", Service: []Service{{ID: "did:plc:x#atproto_pds", Type: TypePDS, ServiceEndpoint: "https://p.example"}}}, "", false, "https://p.example", true},
		{"another DID's service", Document{ID: "did:plc:x", Service: []Service{{ID: "did:plc:y#atproto_pds", Type: TypePDS, ServiceEndpoint: "https://p.example"}}}, "", false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if h, ok := tt.doc.Handle(); h != tt.handle || ok != tt.handleOK {
				t.Errorf("Handle = %q, %v; want %q, %v", h, ok, tt.handle, tt.handleOK)
			}
			if ep, ok := tt.doc.PDSEndpoint(); ok != tt.pdsOK || (ok && ep != tt.pds) {
				t.Errorf("PDSEndpoint = %q, %v; want %q, %v", ep, ok, tt.pds, tt.pdsOK)
			}
		})
	}
}

func TestIsPublicHost(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"pds.example.com", true},
		{"PDS.Example.Com.", true},
		{"bsky.social", true},
		{"8.8.8.8", true},
		{"[2606:4700::1111]", true},
		{"", false},
		{"localhost", false},
		{"LOCALHOST.", false},
		{"pds.localhost", false},
		{"raspberrypi", false},
		{"hearth.local", false},
		{"hearth.lan", false},
		{"pds.home.arpa", false},
		{"pds.internal", false},
		{"alice.test", false},
		{"127.0.0.1", false},
		{"127.1", false},
		{"0x7f000001", false},
		{"0.0.0.0", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"192.168.1.20", false},
		{"100.64.0.1", false},
		{"169.254.169.254", false},
		{"::1", false},
		{"[::1]", false},
		{"::", false},
		{"fd00::1", false},
		{"[fd12:3456::1]", false},
		{"fe80::1", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:192.168.0.1", false},
		{"224.0.0.1", false},
		{"under_score.example.com", false},
	}
	for _, tt := range tests {
		if got := IsPublicHost(tt.host); got != tt.want {
			t.Errorf("IsPublicHost(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}
