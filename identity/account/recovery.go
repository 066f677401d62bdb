package account

import (
	"context"
	"slices"
	"strings"

	"github.com/hearth-pds/hearth/identity/keys"
)

// RecoveryKeys lists the rotation keys of the account's DID that are not
// this server's: the keys its owner holds.
func (s *Service) RecoveryKeys(ctx context.Context, did string) ([]string, error) {
	if !strings.HasPrefix(did, "did:plc:") {
		return nil, nil
	}
	last, err := s.PLC.LastOp(ctx, did)
	if err != nil {
		s.Log.Info("reading the PLC log failed", "did", did, "err", err)
		return nil, fail(ErrUpstream, "could not read the DID's PLC log")
	}
	mine := s.Rotation.Public().DIDKey()
	var out []string
	for _, k := range last.RotationKeys {
		if k != mine {
			out = append(out, k)
		}
	}
	return out, nil
}

// AddRecoveryKey puts a rotation key the person holds above this server's
// in the account's DID, so that they can take their identity elsewhere
// without this server's help: a key higher in the list can also undo, for
// 72 hours, an operation signed by a lower one.
func (s *Service) AddRecoveryKey(ctx context.Context, did, didKey string) error {
	if !strings.HasPrefix(did, "did:plc:") {
		return fail(ErrInvalidRequest, "Only a did:plc has rotation keys; a did:web is controlled by its web server")
	}
	didKey = strings.TrimSpace(didKey)
	if _, err := keys.ParseDIDKey(didKey); err != nil {
		return fail(ErrInvalidRequest, "That is not a did:key: it starts with did:key:z and holds a K-256 or P-256 public key")
	}
	if _, err := s.Get(did); err != nil {
		return err
	}
	last, err := s.PLC.LastOp(ctx, did)
	if err != nil {
		s.Log.Info("reading the PLC log failed", "did", did, "err", err)
		return fail(ErrUpstream, "could not read the DID's PLC log")
	}
	mine := s.Rotation.Public().DIDKey()
	if !slices.Contains(last.RotationKeys, mine) {
		return fail(ErrInvalidRequest, "This server holds no rotation key of %s, so it cannot change it", did)
	}
	if slices.Contains(last.RotationKeys, didKey) {
		return nil
	}
	if len(last.RotationKeys) >= 5 {
		return fail(ErrInvalidRequest, "A DID holds at most five rotation keys; this one has no room left")
	}
	op, err := last.Next()
	if err != nil {
		return err
	}
	op.RotationKeys = append([]string{didKey}, last.RotationKeys...)
	if err := op.Sign(s.Rotation); err != nil {
		return err
	}
	if err := s.PLC.Submit(ctx, did, op); err != nil {
		s.Log.Warn("the PLC directory refused a recovery key", "did", did, "err", err)
		return fail(ErrUpstream, "the PLC directory refused the change")
	}
	s.Resolver.Forget(did)
	s.Log.Info("recovery key added", "did", did)
	return nil
}
