package plc

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"

	"github.com/hearth-pds/hearth/identity/keys"
	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/repo/dagcbor"
)

// Sentinel errors.
var (
	ErrInvalidOp = errors.New("plc: invalid operation")
	ErrSignature = errors.New("plc: operation signature does not verify")
)

// Service is a service entry of an operation.
type Service struct {
	Type     string `json:"type" cbor:"type"`
	Endpoint string `json:"endpoint" cbor:"endpoint"`
}

// Operation is a plc_operation. Prev is nil for a genesis operation, which
// encodes as the explicit null the spec requires.
type Operation struct {
	Type                string             `json:"type" cbor:"type"`
	RotationKeys        []string           `json:"rotationKeys" cbor:"rotationKeys"`
	VerificationMethods map[string]string  `json:"verificationMethods" cbor:"verificationMethods"`
	AlsoKnownAs         []string           `json:"alsoKnownAs" cbor:"alsoKnownAs"`
	Services            map[string]Service `json:"services" cbor:"services"`
	Prev                *string            `json:"prev" cbor:"prev"`
	Sig                 string             `json:"sig,omitempty" cbor:"sig,omitempty"`
}

// Genesis builds an unsigned first operation for an atproto account.
func Genesis(rotationKeys []string, signingKey, handle, pdsEndpoint string) *Operation {
	return &Operation{
		Type:                "plc_operation",
		RotationKeys:        slices.Clone(rotationKeys),
		VerificationMethods: map[string]string{"atproto": signingKey},
		AlsoKnownAs:         []string{"at://" + handle},
		Services:            map[string]Service{"atproto_pds": {Type: "AtprotoPersonalDataServer", Endpoint: pdsEndpoint}},
	}
}

func (op *Operation) unsigned() ([]byte, error) {
	u := *op
	u.Sig = ""
	return dagcbor.Marshal(u)
}

// Sign signs the operation with a rotation key.
func (op *Operation) Sign(k keys.PrivateKey) error {
	msg, err := op.unsigned()
	if err != nil {
		return fmt.Errorf("plc: encode operation: %w", err)
	}
	sig, err := k.Sign(msg)
	if err != nil {
		return fmt.Errorf("plc: sign operation: %w", err)
	}
	op.Sig = base64.RawURLEncoding.EncodeToString(sig)
	return nil
}

// VerifyWith checks the signature against any of the given did:key rotation
// keys (those of the previous operation, or the op's own for a genesis).
func (op *Operation) VerifyWith(rotationKeys []string) error {
	if err := op.check(); err != nil {
		return err
	}
	sig, err := base64.RawURLEncoding.DecodeString(op.Sig)
	if err != nil {
		return fmt.Errorf("%w: sig is not base64url", ErrInvalidOp)
	}
	msg, err := op.unsigned()
	if err != nil {
		return err
	}
	for _, dk := range rotationKeys {
		k, err := keys.ParseDIDKey(dk)
		if err != nil {
			continue
		}
		if k.Verify(msg, sig) == nil {
			return nil
		}
	}
	return ErrSignature
}

func (op *Operation) check() error {
	switch {
	case op.Type != "plc_operation":
		return fmt.Errorf("%w: type %q", ErrInvalidOp, op.Type)
	case len(op.RotationKeys) == 0 || len(op.RotationKeys) > 5:
		return fmt.Errorf("%w: %d rotation keys", ErrInvalidOp, len(op.RotationKeys))
	case op.Sig == "":
		return fmt.Errorf("%w: unsigned", ErrInvalidOp)
	}
	for _, k := range op.RotationKeys {
		if _, err := keys.ParseDIDKey(k); err != nil {
			return fmt.Errorf("%w: rotation key %q", ErrInvalidOp, k)
		}
	}
	return nil
}

// CID is the content identifier of the signed operation, which the next
// operation names as prev.
func (op *Operation) CID() (cid.CID, error) {
	b, err := dagcbor.Marshal(op)
	if err != nil {
		return cid.CID{}, err
	}
	return cid.Sum(cid.DagCBOR, b), nil
}

var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// DIDFromGenesis derives the DID of a signed genesis operation.
func DIDFromGenesis(op *Operation) (string, error) {
	if op.Prev != nil {
		return "", fmt.Errorf("%w: not a genesis operation", ErrInvalidOp)
	}
	if op.Sig == "" {
		return "", fmt.Errorf("%w: unsigned", ErrInvalidOp)
	}
	b, err := dagcbor.Marshal(op)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return "did:plc:" + b32.EncodeToString(sum[:])[:24], nil
}

// UpdateHandle builds the unsigned operation that follows last and sets the
// account's handle, keeping everything else.
func UpdateHandle(last *Operation, handle string) (*Operation, error) {
	if last == nil || last.Type != "plc_operation" {
		return nil, fmt.Errorf("%w: the DID's last operation is not a plc_operation", ErrInvalidOp)
	}
	prev, err := last.CID()
	if err != nil {
		return nil, err
	}
	p := prev.String()
	next := &Operation{
		Type:                "plc_operation",
		RotationKeys:        slices.Clone(last.RotationKeys),
		VerificationMethods: map[string]string{},
		Services:            map[string]Service{},
		AlsoKnownAs:         []string{"at://" + handle},
		Prev:                &p,
	}
	for k, v := range last.VerificationMethods {
		next.VerificationMethods[k] = v
	}
	for k, v := range last.Services {
		next.Services[k] = v
	}
	for _, aka := range last.AlsoKnownAs {
		if len(aka) < 5 || aka[:5] != "at://" {
			next.AlsoKnownAs = append(next.AlsoKnownAs, aka)
		}
	}
	return next, nil
}
