package plc

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hearth-pds/hearth/identity/keys"
	"github.com/hearth-pds/hearth/identity/resolve"
)

// Names atproto gives entries of an operation.
const (
	VerificationMethodAtproto = "atproto"
	ServicePDS                = "atproto_pds"
	ServiceTypePDS            = "AtprotoPersonalDataServer"
)

// ErrTombstoned reports a DID deactivated by a tombstone.
var ErrTombstoned = errors.New("plc: DID is tombstoned")

// State is what a DID's operations add up to: the data of its latest
// operation, in the shape of the directory's /data answer.
type State struct {
	DID                 string             `json:"did"`
	RotationKeys        []string           `json:"rotationKeys"`
	VerificationMethods map[string]string  `json:"verificationMethods"`
	AlsoKnownAs         []string           `json:"alsoKnownAs"`
	Services            map[string]Service `json:"services"`
}

// Genesis builds the unsigned first operation of an atproto account:
// rotation keys (did:key, most authoritative first), the repository signing
// key (did:key), the handle and the PDS URL.
func Genesis(rotationKeys []string, signingKey, handle, pdsEndpoint string) *Operation {
	s := State{
		RotationKeys:        rotationKeys,
		VerificationMethods: map[string]string{VerificationMethodAtproto: signingKey},
		Services:            map[string]Service{ServicePDS: {Type: ServiceTypePDS, Endpoint: pdsEndpoint}},
	}
	op := s.Next("")
	if handle != "" {
		op.AlsoKnownAs = []string{"at://" + handle}
	}
	return op
}

// Next returns an unsigned operation that follows the operation with CID
// prev ("" for none) and keeps the state as it is: change what should
// change, then Sign it. Nothing is shared with s.
func (s *State) Next(prev string) *Operation {
	op := &Operation{
		Type:                TypeOperation,
		RotationKeys:        append([]string{}, s.RotationKeys...),
		VerificationMethods: maps.Clone(s.VerificationMethods),
		AlsoKnownAs:         append([]string{}, s.AlsoKnownAs...),
		Services:            maps.Clone(s.Services),
	}
	// maps.Clone keeps nil as nil, which would encode as null.
	if op.VerificationMethods == nil {
		op.VerificationMethods = map[string]string{}
	}
	if op.Services == nil {
		op.Services = map[string]Service{}
	}
	if prev != "" {
		op.Prev = &prev
	}
	return op
}

// State returns the state this operation leaves did in. Nothing is shared
// with op.
func (op *Operation) State(did string) *State {
	n := (&State{
		RotationKeys:        op.RotationKeys,
		VerificationMethods: op.VerificationMethods,
		AlsoKnownAs:         op.AlsoKnownAs,
		Services:            op.Services,
	}).Next("")
	return &State{
		DID:                 did,
		RotationKeys:        n.RotationKeys,
		VerificationMethods: n.VerificationMethods,
		AlsoKnownAs:         n.AlsoKnownAs,
		Services:            n.Services,
	}
}

// Next returns an unsigned operation that follows this signed one and keeps
// everything as it is.
func (op *Operation) Next() (*Operation, error) {
	c, err := op.CID()
	if err != nil {
		return nil, err
	}
	return op.State("").Next(c.String()), nil
}

// SetHandle makes handle the account's handle: it replaces the first
// at:// entry of alsoKnownAs, where atproto reads the handle, or goes first
// if there is none. Other entries stay.
func (op *Operation) SetHandle(handle string) {
	aka := "at://" + handle
	for i, a := range op.AlsoKnownAs {
		if strings.HasPrefix(a, "at://") {
			op.AlsoKnownAs[i] = aka
			return
		}
	}
	op.AlsoKnownAs = append([]string{aka}, op.AlsoKnownAs...)
}

// SetPDS points the account's atproto_pds service at endpoint.
func (op *Operation) SetPDS(endpoint string) {
	if op.Services == nil {
		op.Services = map[string]Service{}
	}
	op.Services[ServicePDS] = Service{Type: ServiceTypePDS, Endpoint: endpoint}
}

// UpdateHandle builds the unsigned operation that follows last and sets
// the account's handle, keeping everything else.
func UpdateHandle(last *Operation, handle string) (*Operation, error) {
	if last == nil || last.Type != TypeOperation {
		return nil, fmt.Errorf("%w: the DID's last operation is not a plc_operation", ErrInvalidOp)
	}
	next, err := last.Next()
	if err != nil {
		return nil, err
	}
	next.SetHandle(handle)
	return next, nil
}

// Upgrade returns the plc_operation equivalent of a legacy create,
// unsigned: the state it sets up, not a replacement for it in a log.
func (l *LegacyCreate) Upgrade() *Operation {
	handle := l.Handle
	for _, p := range []string{"at://", "https://", "http://"} {
		handle = strings.TrimPrefix(handle, p)
	}
	endpoint := l.Service
	if !strings.HasPrefix(endpoint, "https://") && !strings.HasPrefix(endpoint, "http://") {
		endpoint = "https://" + endpoint
	}
	return Genesis(l.rotationKeys(), l.SigningKey, handle, endpoint)
}

// stateAfter is the state op leaves did in.
func stateAfter(did string, op Op) (*State, error) {
	switch o := op.(type) {
	case *Operation:
		return o.State(did), nil
	case *LegacyCreate:
		return o.Upgrade().State(did), nil
	case *Tombstone:
		return nil, fmt.Errorf("%w: %s", ErrTombstoned, did)
	}
	return nil, fmt.Errorf("%w: %T", ErrInvalidOp, op)
}

// VerifyLog checks a DID's chain of operations, oldest first, as the
// directory's /log serves it (or the entries of /log/audit that are not
// nullified): the genesis hashes to did and is signed by one of its own
// rotation keys, and every later operation names the CID of the one before
// as prev and is signed by one of that one's rotation keys. It returns the
// state the log ends in, or ErrTombstoned if it ends in a tombstone.
//
// It does not judge nullification: which fork wins within the 72-hour
// recovery window is the directory's record, checked only in that each
// operation given is properly signed.
func VerifyLog(did string, ops []Op) (*State, error) {
	if len(ops) == 0 {
		return nil, fmt.Errorf("%w: %s: empty log", ErrInvalidOp, did)
	}
	got, err := DIDFromGenesis(ops[0])
	if err != nil {
		return nil, fmt.Errorf("%s: genesis: %w", did, err)
	}
	if got != did {
		return nil, fmt.Errorf("%w: %s: the genesis operation is that of %s", ErrInvalidOp, did, got)
	}
	if err := ops[0].Verify(parseKeys(ops[0].rotationKeys())...); err != nil {
		return nil, fmt.Errorf("%s: genesis: %w", did, err)
	}
	for i := 1; i < len(ops); i++ {
		prev := ops[i-1]
		if _, ok := prev.(*Tombstone); ok {
			return nil, fmt.Errorf("%w: %s: operation %d follows a tombstone", ErrInvalidOp, did, i)
		}
		c, err := prev.CID()
		if err != nil {
			return nil, fmt.Errorf("%s: operation %d: %w", did, i-1, err)
		}
		if ops[i].PrevCID() != c.String() {
			return nil, fmt.Errorf("%w: %s: operation %d does not follow %s", ErrInvalidOp, did, i, c)
		}
		if err := ops[i].Verify(parseKeys(prev.rotationKeys())...); err != nil {
			return nil, fmt.Errorf("%s: operation %d: %w", did, i, err)
		}
	}
	return stateAfter(did, ops[len(ops)-1])
}

// DID document contexts, as the directory writes them.
const (
	contextDID       = "https://www.w3.org/ns/did/v1"
	contextMultikey  = "https://w3id.org/security/multikey/v1"
	contextSecp256k1 = "https://w3id.org/security/suites/secp256k1-2019/v1"
	contextP256      = "https://w3id.org/security/suites/ecdsa-2019/v1"
)

// Document renders the state as the DID document a directory serves:
// keys as Multikey entries with absolute ids, services with relative ids,
// both in name order.
func (s *State) Document() resolve.Document {
	ctx := []string{contextDID, contextMultikey}
	doc := resolve.Document{ID: s.DID, AlsoKnownAs: append([]string{}, s.AlsoKnownAs...)}
	for _, name := range slices.Sorted(maps.Keys(s.VerificationMethods)) {
		dk := s.VerificationMethods[name]
		if k, err := keys.ParseDIDKey(dk); err == nil {
			c := contextSecp256k1
			if k.Algorithm() == keys.P256 {
				c = contextP256
			}
			if !slices.Contains(ctx, c) {
				ctx = append(ctx, c)
			}
		}
		doc.VerificationMethod = append(doc.VerificationMethod, resolve.VerificationMethod{
			ID:                 s.DID + "#" + name,
			Type:               resolve.TypeMultikey,
			Controller:         s.DID,
			PublicKeyMultibase: strings.TrimPrefix(dk, "did:key:"),
		})
	}
	for _, name := range slices.Sorted(maps.Keys(s.Services)) {
		svc := s.Services[name]
		doc.Service = append(doc.Service, resolve.Service{ID: "#" + name, Type: svc.Type, ServiceEndpoint: svc.Endpoint})
	}
	doc.Context = ctx
	return doc
}
