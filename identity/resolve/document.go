package resolve

import (
	"fmt"
	"strings"

	"github.com/hearth-pds/hearth/identity"
	"github.com/hearth-pds/hearth/identity/keys"
)

// Document is a DID document, as far as atproto reads it. Fields it does not
// use are dropped.
type Document struct {
	Context            any                  `json:"@context,omitempty"`
	ID                 string               `json:"id"`
	AlsoKnownAs        []string             `json:"alsoKnownAs,omitempty"`
	VerificationMethod []VerificationMethod `json:"verificationMethod,omitempty"`
	Service            []Service            `json:"service,omitempty"`
}

// VerificationMethod is a public key entry of a DID document.
type VerificationMethod struct {
	ID                 string `json:"id"`
	Type               string `json:"type"`
	Controller         string `json:"controller"`
	PublicKeyMultibase string `json:"publicKeyMultibase,omitempty"`
}

// Service is a service entry of a DID document. DID Core allows an endpoint
// to be a string, a map or a list; atproto uses strings only, but the value
// is kept as decoded so that a document re-encodes as it came.
type Service struct {
	ID              string `json:"id"`
	Type            string `json:"type"`
	ServiceEndpoint any    `json:"serviceEndpoint"`
}

// Types and ids atproto gives meaning to.
const (
	TypeMultikey   = "Multikey"
	TypeLegacyK256 = "EcdsaSecp256k1VerificationKey2019"
	TypeLegacyP256 = "EcdsaSecp256r1VerificationKey2019"
	TypePDS        = "AtprotoPersonalDataServer"

	idSigningKey = "atproto"
	idPDS        = "atproto_pds"
)

// is reports whether an entry id names the fragment frag of this document:
// ids come both relative ("#atproto") and absolute ("did:plc:…#atproto").
func (d *Document) is(id, frag string) bool {
	rest, ok := strings.CutSuffix(id, "#"+frag)
	return ok && (rest == "" || rest == d.ID)
}

// Handle returns the handle the document claims: the first at:// entry of
// alsoKnownAs, lower-cased. ok is false when there is none or when the
// first one is not a valid handle; a later entry never stands in for it.
func (d *Document) Handle() (handle string, ok bool) {
	for _, aka := range d.AlsoKnownAs {
		h, isAt := strings.CutPrefix(aka, "at://")
		if !isAt {
			continue
		}
		parsed, err := identity.ParseHandle(h)
		if err != nil {
			return "", false
		}
		return string(parsed.Normalize()), true
	}
	return "", false
}

// SigningKey returns the #atproto key, which signs the account's repository
// commits. It reads the Multikey form and the older
// EcdsaSecp256{k,r}1VerificationKey2019 forms, whose multibase value carries
// no multicodec prefix.
func (d *Document) SigningKey() (keys.PublicKey, error) {
	for _, vm := range d.VerificationMethod {
		if !d.is(vm.ID, idSigningKey) {
			continue
		}
		var k keys.PublicKey
		var err error
		switch vm.Type {
		case TypeMultikey:
			k, err = keys.ParseMultibase(vm.PublicKeyMultibase)
		case TypeLegacyK256:
			k, err = keys.ParseMultibaseBare(vm.PublicKeyMultibase, keys.K256)
		case TypeLegacyP256:
			k, err = keys.ParseMultibaseBare(vm.PublicKeyMultibase, keys.P256)
		default:
			return nil, fmt.Errorf("%w: %s: #atproto key of type %q", ErrInvalid, d.ID, vm.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: #atproto key: %w", ErrInvalid, d.ID, err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("%w: %s has no #atproto key", ErrNotFound, d.ID)
}

// ServiceEndpoint returns the endpoint of the service with the given id,
// written with or without its leading '#'. Only string endpoints count.
func (d *Document) ServiceEndpoint(id string) (endpoint string, ok bool) {
	id = strings.TrimPrefix(id, "#")
	for _, s := range d.Service {
		if d.is(s.ID, id) {
			ep, isString := s.ServiceEndpoint.(string)
			return ep, isString && ep != ""
		}
	}
	return "", false
}

// PDSEndpoint returns the URL of the account's PDS: the #atproto_pds
// service, which must have the type AtprotoPersonalDataServer.
func (d *Document) PDSEndpoint() (endpoint string, ok bool) {
	for _, s := range d.Service {
		if d.is(s.ID, idPDS) {
			ep, isString := s.ServiceEndpoint.(string)
			return ep, isString && ep != "" && s.Type == TypePDS
		}
	}
	return "", false
}
