package plc

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/mr-tron/base58"

	"github.com/hearth-pds/hearth/identity/keys"
	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/repo/dagcbor"
)

// Operation types, as the type field spells them.
const (
	TypeOperation = "plc_operation"
	TypeTombstone = "plc_tombstone"
	TypeCreate    = "create" // the legacy genesis format
)

// Limits of the spec.
const (
	MaxRotationKeys        = 5
	MaxVerificationMethods = 10
	// MaxOpSize bounds the signed DAG-CBOR encoding of an operation.
	MaxOpSize = 7500
)

// sigOverhead is what a signature adds to the DAG-CBOR encoding: the key
// "sig" (1+3 bytes) and an 86-character string (2+86 bytes). The map header
// stays one byte either way.
const sigOverhead = 4 + 88

// Sentinel errors.
var (
	ErrInvalidOp = errors.New("plc: invalid operation")
	ErrSignature = errors.New("plc: operation signature does not verify")
)

// Op is one of *Operation, *Tombstone and *LegacyCreate.
type Op interface {
	// PrevCID is the CID of the operation this one follows, "" for a
	// genesis.
	PrevCID() string
	// CID is the CID of the signed operation.
	CID() (cid.CID, error)
	// Validate checks the structure against the spec, not the signature.
	Validate() error
	// Verify checks the structure and that one of ks signed the operation.
	Verify(ks ...keys.PublicKey) error

	// rotationKeys are the did:keys that may sign the operation after this.
	rotationKeys() []string
	// unsigned is the DAG-CBOR encoding without sig: what is signed.
	unsigned() ([]byte, error)
	signature() string
}

// Service is a service entry of an operation.
type Service struct {
	Type     string `json:"type" cbor:"type"`
	Endpoint string `json:"endpoint" cbor:"endpoint"`
}

// Operation is a plc_operation: a genesis when Prev is nil (encoded as the
// explicit null the spec requires), an update otherwise. The slices and
// maps must be non-nil, even when empty, or they encode as null.
type Operation struct {
	Type                string             `json:"type" cbor:"type"`
	RotationKeys        []string           `json:"rotationKeys" cbor:"rotationKeys"`
	VerificationMethods map[string]string  `json:"verificationMethods" cbor:"verificationMethods"`
	AlsoKnownAs         []string           `json:"alsoKnownAs" cbor:"alsoKnownAs"`
	Services            map[string]Service `json:"services" cbor:"services"`
	Prev                *string            `json:"prev" cbor:"prev"`
	Sig                 string             `json:"sig,omitempty" cbor:"sig,omitempty"`
}

// Tombstone is a plc_tombstone, which deactivates a DID for good.
type Tombstone struct {
	Type string `json:"type" cbor:"type"`
	Prev string `json:"prev" cbor:"prev"`
	Sig  string `json:"sig,omitempty" cbor:"sig,omitempty"`
}

// LegacyCreate is the deprecated genesis format that the oldest DIDs start
// with. It is read and verified, never written: its DID and CID are hashes
// of this exact form, so it cannot be converted for those purposes.
type LegacyCreate struct {
	Type        string  `json:"type" cbor:"type"`
	SigningKey  string  `json:"signingKey" cbor:"signingKey"`
	RecoveryKey string  `json:"recoveryKey" cbor:"recoveryKey"`
	Handle      string  `json:"handle" cbor:"handle"`
	Service     string  `json:"service" cbor:"service"`
	Prev        *string `json:"prev" cbor:"prev"`
	Sig         string  `json:"sig,omitempty" cbor:"sig,omitempty"`
}

// NewTombstone returns an unsigned tombstone following prev.
func NewTombstone(prev string) *Tombstone {
	return &Tombstone{Type: TypeTombstone, Prev: prev}
}

// ParseOp decodes an operation of any type from its JSON form.
func ParseOp(data []byte) (Op, error) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOp, err)
	}
	var op Op
	switch head.Type {
	case TypeOperation:
		op = new(Operation)
	case TypeTombstone:
		op = new(Tombstone)
	case TypeCreate:
		op = new(LegacyCreate)
	default:
		return nil, fmt.Errorf("%w: type %q", ErrInvalidOp, head.Type)
	}
	if err := json.Unmarshal(data, op); err != nil {
		return nil, err
	}
	return op, nil
}

// decodeObject decodes a JSON object into the fields of dst, matched by
// exact name. encoding/json on its own matches names case-insensitively and
// drops unknown ones; either would make the operation's DAG-CBOR differ from
// what its signer signed, so such input is refused by name here instead.
func decodeObject(data []byte, dst map[string]any, required ...string) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidOp, err)
	}
	if raw == nil {
		return fmt.Errorf("%w: not a JSON object", ErrInvalidOp)
	}
	for name, v := range raw {
		p, ok := dst[name]
		if !ok {
			return fmt.Errorf("%w: unknown field %q", ErrInvalidOp, name)
		}
		if err := json.Unmarshal(v, p); err != nil {
			return fmt.Errorf("%w: field %q: %w", ErrInvalidOp, name, err)
		}
	}
	for _, name := range required {
		if _, ok := raw[name]; !ok {
			return fmt.Errorf("%w: field %q is missing", ErrInvalidOp, name)
		}
	}
	return nil
}

// UnmarshalJSON decodes the JSON form strictly (see ParseOp).
func (op *Operation) UnmarshalJSON(data []byte) error {
	var o Operation
	err := decodeObject(data, map[string]any{
		"type":                &o.Type,
		"rotationKeys":        &o.RotationKeys,
		"verificationMethods": &o.VerificationMethods,
		"alsoKnownAs":         &o.AlsoKnownAs,
		"services":            &o.Services,
		"prev":                &o.Prev,
		"sig":                 &o.Sig,
	}, "type", "rotationKeys", "verificationMethods", "alsoKnownAs", "services", "prev")
	if err != nil {
		return err
	}
	*op = o
	return nil
}

// UnmarshalJSON decodes the JSON form strictly (see ParseOp).
func (t *Tombstone) UnmarshalJSON(data []byte) error {
	var o Tombstone
	err := decodeObject(data, map[string]any{"type": &o.Type, "prev": &o.Prev, "sig": &o.Sig}, "type", "prev")
	if err != nil {
		return err
	}
	*t = o
	return nil
}

// UnmarshalJSON decodes the JSON form strictly (see ParseOp).
func (l *LegacyCreate) UnmarshalJSON(data []byte) error {
	var o LegacyCreate
	err := decodeObject(data, map[string]any{
		"type":        &o.Type,
		"signingKey":  &o.SigningKey,
		"recoveryKey": &o.RecoveryKey,
		"handle":      &o.Handle,
		"service":     &o.Service,
		"prev":        &o.Prev,
		"sig":         &o.Sig,
	}, "type", "signingKey", "recoveryKey", "handle", "service", "prev")
	if err != nil {
		return err
	}
	*l = o
	return nil
}

// UnmarshalJSON decodes a service entry strictly (see ParseOp).
func (s *Service) UnmarshalJSON(data []byte) error {
	var o Service
	if err := decodeObject(data, map[string]any{"type": &o.Type, "endpoint": &o.Endpoint}, "type", "endpoint"); err != nil {
		return err
	}
	*s = o
	return nil
}

// PrevCID implements Op.
func (op *Operation) PrevCID() string { return deref(op.Prev) }

// PrevCID implements Op.
func (t *Tombstone) PrevCID() string { return t.Prev }

// PrevCID implements Op.
func (l *LegacyCreate) PrevCID() string { return deref(l.Prev) }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (op *Operation) rotationKeys() []string { return op.RotationKeys }
func (t *Tombstone) rotationKeys() []string  { return nil }

// rotationKeys of a legacy genesis are both of its keys, the recovery key
// first: it is the one with more authority.
func (l *LegacyCreate) rotationKeys() []string { return []string{l.RecoveryKey, l.SigningKey} }

func (op *Operation) signature() string   { return op.Sig }
func (t *Tombstone) signature() string    { return t.Sig }
func (l *LegacyCreate) signature() string { return l.Sig }

func (op *Operation) unsigned() ([]byte, error) {
	u := *op
	u.Sig = ""
	return encode(u)
}

func (t *Tombstone) unsigned() ([]byte, error) {
	u := *t
	u.Sig = ""
	return encode(u)
}

func (l *LegacyCreate) unsigned() ([]byte, error) {
	u := *l
	u.Sig = ""
	return encode(u)
}

func encode(v any) ([]byte, error) {
	b, err := dagcbor.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: encode: %w", ErrInvalidOp, err)
	}
	return b, nil
}

// CID implements Op.
func (op *Operation) CID() (cid.CID, error) { return signedCID(op) }

// CID implements Op.
func (t *Tombstone) CID() (cid.CID, error) { return signedCID(t) }

// CID implements Op.
func (l *LegacyCreate) CID() (cid.CID, error) { return signedCID(l) }

func signedCID(op Op) (cid.CID, error) {
	b, err := signedBytes(op)
	if err != nil {
		return cid.CID{}, err
	}
	return cid.Sum(cid.DagCBOR, b), nil
}

// signedBytes is the DAG-CBOR of a signed operation, which its CID and (for
// a genesis) its DID hash.
func signedBytes(op Op) ([]byte, error) {
	if op.signature() == "" {
		return nil, fmt.Errorf("%w: unsigned", ErrInvalidOp)
	}
	return encode(op)
}

var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// DIDFromGenesis derives the DID of a signed genesis operation (a
// plc_operation without prev, or a legacy create).
func DIDFromGenesis(op Op) (string, error) {
	switch o := op.(type) {
	case *Operation:
		if o.Prev != nil {
			return "", fmt.Errorf("%w: not a genesis operation", ErrInvalidOp)
		}
	case *LegacyCreate:
		if o.Prev != nil {
			return "", fmt.Errorf("%w: a create with prev", ErrInvalidOp)
		}
	default:
		return "", fmt.Errorf("%w: %T is not a genesis operation", ErrInvalidOp, op)
	}
	b, err := signedBytes(op)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return "did:plc:" + b32.EncodeToString(sum[:])[:24], nil
}

// Sign signs the operation with a rotation key, replacing any signature.
// The operation must be valid first.
func (op *Operation) Sign(k keys.PrivateKey) error {
	op.Sig = ""
	return sign(op, &op.Sig, k)
}

// Sign signs the tombstone with a rotation key, replacing any signature.
func (t *Tombstone) Sign(k keys.PrivateKey) error {
	t.Sig = ""
	return sign(t, &t.Sig, k)
}

func sign(op Op, sig *string, k keys.PrivateKey) error {
	if err := op.Validate(); err != nil {
		return err
	}
	msg, err := op.unsigned()
	if err != nil {
		return err
	}
	raw, err := k.Sign(msg)
	if err != nil {
		return fmt.Errorf("plc: sign operation: %w", err)
	}
	*sig = base64.RawURLEncoding.EncodeToString(raw)
	return nil
}

// Verify implements Op.
func (op *Operation) Verify(ks ...keys.PublicKey) error { return verify(op, ks) }

// Verify implements Op.
func (t *Tombstone) Verify(ks ...keys.PublicKey) error { return verify(t, ks) }

// Verify implements Op.
func (l *LegacyCreate) Verify(ks ...keys.PublicKey) error { return verify(l, ks) }

// VerifyWith checks the signature against did:key strings: the rotation
// keys of the previous operation, or the operation's own for a genesis.
// Strings that are not a key this package reads are skipped.
func (op *Operation) VerifyWith(rotationKeys []string) error {
	return op.Verify(parseKeys(rotationKeys)...)
}

func parseKeys(didKeys []string) []keys.PublicKey {
	var ks []keys.PublicKey
	for _, dk := range didKeys {
		if k, err := keys.ParseDIDKey(dk); err == nil {
			ks = append(ks, k)
		}
	}
	return ks
}

func verify(op Op, ks []keys.PublicKey) error {
	if err := op.Validate(); err != nil {
		return err
	}
	sig, err := decodeSig(op.signature())
	if err != nil {
		return err
	}
	msg, err := op.unsigned()
	if err != nil {
		return err
	}
	for _, k := range ks {
		if k != nil && k.Verify(msg, sig) == nil {
			return nil
		}
	}
	if len(ks) == 0 {
		return fmt.Errorf("%w: no keys to check it with", ErrSignature)
	}
	return ErrSignature
}

// decodeSig accepts only the one encoding the spec allows: unpadded
// base64url with zero trailing bits, of a 64-byte r‖s. A second spelling
// of the same signature would give the operation a second CID.
func decodeSig(s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: unsigned", ErrInvalidOp)
	}
	// Strict rejects non-zero trailing bits, yet still skips CR and LF.
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("%w: sig contains a line break", ErrSignature)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: sig is not unpadded base64url: %w", ErrSignature, err)
	}
	if len(b) != 64 {
		return nil, fmt.Errorf("%w: sig of %d bytes, want 64", ErrSignature, len(b))
	}
	return b, nil
}

// Validate implements Op.
func (op *Operation) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidOp, fmt.Sprintf(format, args...))
	}
	switch {
	case op.Type != TypeOperation:
		return bad("type %q", op.Type)
	case op.RotationKeys == nil || op.VerificationMethods == nil || op.AlsoKnownAs == nil || op.Services == nil:
		return bad("rotationKeys, verificationMethods, alsoKnownAs and services must all be present")
	case len(op.RotationKeys) == 0 || len(op.RotationKeys) > MaxRotationKeys:
		return bad("%d rotation keys, want 1 to %d", len(op.RotationKeys), MaxRotationKeys)
	case len(op.VerificationMethods) > MaxVerificationMethods:
		return bad("%d verification methods, at most %d", len(op.VerificationMethods), MaxVerificationMethods)
	}
	seen := make(map[string]bool, len(op.RotationKeys))
	for _, k := range op.RotationKeys {
		if seen[k] {
			return bad("rotation key %s listed twice", k)
		}
		seen[k] = true
		if _, err := keys.ParseDIDKey(k); err != nil {
			return bad("rotation key %q: %v", k, err)
		}
	}
	for name, k := range op.VerificationMethods {
		if !isDIDKey(k) {
			return bad("verification method %q: %q is not a did:key", name, k)
		}
	}
	if op.Prev != nil {
		if err := checkPrev(*op.Prev); err != nil {
			return err
		}
	}
	return checkSize(op)
}

// Validate implements Op.
func (t *Tombstone) Validate() error {
	if t.Type != TypeTombstone {
		return fmt.Errorf("%w: type %q", ErrInvalidOp, t.Type)
	}
	if err := checkPrev(t.Prev); err != nil {
		return err
	}
	return checkSize(t)
}

// Validate implements Op.
func (l *LegacyCreate) Validate() error {
	switch {
	case l.Type != TypeCreate:
		return fmt.Errorf("%w: type %q", ErrInvalidOp, l.Type)
	case l.Prev != nil:
		return fmt.Errorf("%w: a create with prev", ErrInvalidOp)
	}
	for _, k := range []string{l.SigningKey, l.RecoveryKey} {
		if _, err := keys.ParseDIDKey(k); err != nil {
			return fmt.Errorf("%w: key %q: %w", ErrInvalidOp, k, err)
		}
	}
	return checkSize(l)
}

// isDIDKey checks did:key syntax only: a verification method may hold a
// key type this package cannot use.
func isDIDKey(s string) bool {
	mb, ok := strings.CutPrefix(s, "did:key:z")
	if !ok || mb == "" {
		return false
	}
	b, err := base58.Decode(mb)
	return err == nil && len(b) > 0
}

func checkPrev(prev string) error {
	c, err := cid.Parse(prev)
	if err != nil {
		return fmt.Errorf("%w: prev: %w", ErrInvalidOp, err)
	}
	if c.Codec() != cid.DagCBOR {
		return fmt.Errorf("%w: prev %s is not a dag-cbor CID", ErrInvalidOp, prev)
	}
	return nil
}

func checkSize(op Op) error {
	b, err := op.unsigned()
	if err != nil {
		return err
	}
	if n := len(b) + sigOverhead; n > MaxOpSize {
		return fmt.Errorf("%w: %d bytes signed, at most %d", ErrInvalidOp, n, MaxOpSize)
	}
	return nil
}
