package account

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/hearth-pds/hearth/blob"
	"github.com/hearth-pds/hearth/identity/keys"
	"github.com/hearth-pds/hearth/identity/plc"
	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/repo/car"
	"github.com/hearth-pds/hearth/repo/dagcbor"
	"github.com/hearth-pds/hearth/repo/syntax"
	"github.com/hearth-pds/hearth/store"
)

// Moving an account in and out, in the steps goat and the Bluesky
// migration guide take: createAccount with the old host's service token,
// importRepo, blobs, preferences, the PLC operation, activateAccount.

// LxmCreateAccount is the method a migration's service token is for.
const LxmCreateAccount = "com.atproto.server.createAccount"

// MaxImport bounds an imported repository CAR.
const MaxImport = 1 << 30

const metaReserved = "reserved-key:"

// createMovedIn makes the account of an existing DID coming from another
// host: deactivated, with no repository until importRepo and no event until
// activation.
func (s *Service) createMovedIn(ctx context.Context, in CreateInput, handle string, needInvite bool) (*Session, error) {
	iss, err := s.VerifyServiceAuth(ctx, in.ServiceAuth, LxmCreateAccount)
	if err != nil {
		return nil, err
	}
	if iss != in.DID {
		return nil, fail(ErrInvalidToken, "The service token was issued by %s, not %s", iss, in.DID)
	}
	hash, err := s.cfg.HashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	a := &store.Account{
		DID: in.DID, Handle: handle, Email: in.Email, PasswordHash: hash,
		CreatedAt: s.Now().UTC(), InviteCode: in.InviteCode, Status: StatusDeactivated,
	}
	out := &Session{Account: a}
	err = s.DB.Update(ctx, func(tx *store.Tx) error {
		signing, err := reservedKey(tx, in.DID)
		if err != nil {
			return err
		}
		a.SigningKey = keys.MarshalPrivate(signing)
		if needInvite {
			if err := useInvite(tx, in.InviteCode, in.DID, s); err != nil {
				return err
			}
		}
		if err := tx.CreateAccount(a); err != nil {
			if errors.Is(err, store.ErrExists) {
				return fail(ErrHandleTaken, "That account, handle or email is already here")
			}
			return err
		}
		out.Access, out.Refresh, err = s.mint(tx, in.DID, ScopeAccess, "")
		return err
	})
	if err != nil {
		return nil, err
	}
	s.Log.Info("account moving in", "did", in.DID, "handle", handle)
	return out, nil
}

// reservedKey takes the signing key reserved for did, or makes one.
func reservedKey(tx *store.Tx, did string) (keys.PrivateKey, error) {
	if raw := tx.Meta(metaReserved + did); raw != nil {
		k, err := keys.ParsePrivateString(string(raw))
		if err != nil {
			return nil, fmt.Errorf("account: reserved key of %s: %w", did, err)
		}
		return k, tx.DeleteMeta(metaReserved + did)
	}
	return keys.GenerateK256()
}

// ReserveSigningKey sets aside the repo key an account moving in will get,
// so that its PLC operation can name it before the account exists here.
func (s *Service) ReserveSigningKey(ctx context.Context, did string) (string, error) {
	if did != "" && !strings.HasPrefix(did, "did:") {
		return "", fail(ErrInvalidRequest, "did must be a DID")
	}
	var out string
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		if did != "" {
			if raw := tx.Meta(metaReserved + did); raw != nil {
				k, err := keys.ParsePrivateString(string(raw))
				if err != nil {
					return err
				}
				out = k.Public().DIDKey()
				return nil
			}
		}
		k, err := keys.GenerateK256()
		if err != nil {
			return err
		}
		out = k.Public().DIDKey()
		if did == "" {
			return nil // nothing to bind it to: the caller only learns a key
		}
		return tx.SetMeta(metaReserved+did, []byte(keys.MarshalPrivate(k)))
	})
	return out, err
}

// Import replaces an account's repository with a CAR read from r. Nothing
// lands unless all of it verifies: the commit names the DID and is signed
// by the key its DID document holds now, every block hashes to its CID, the
// tree is well formed and canonical, every record is strict DAG-CBOR at a
// valid path, and the file is within MaxImport. Blob references are
// rebuilt from the records in the same transaction; those not uploaded yet
// show in ListMissingBlobs.
func (s *Service) Import(ctx context.Context, did string, r io.Reader) (*repo.Snapshot, error) {
	a, err := s.Get(did)
	if err != nil {
		return nil, err
	}
	if a.Status == StatusTakendown {
		return nil, fail(ErrTakendown, "Account has been taken down")
	}
	s.Resolver.Forget(did)
	doc, err := s.Resolver.ResolveDID(ctx, did)
	if err != nil {
		s.Log.Info("importRepo: DID did not resolve", "did", did, "err", err)
		return nil, fail(ErrInvalidRequest, "Could not resolve %s to check the repository's signature", did)
	}
	key, err := doc.SigningKey()
	if err != nil {
		return nil, fail(ErrInvalidRequest, "The DID document of %s has no usable signing key", did)
	}
	snap, err := repo.ReadSnapshot(r, did, key, car.Options{MaxTotal: MaxImport})
	if err != nil {
		return nil, fail(ErrInvalidRequest, "%v", err)
	}
	var refs []blob.RecordBlob
	for _, rec := range snap.Records {
		coll, rkey, _ := strings.Cut(rec.Path, "/")
		if _, err := syntax.ParseNSID(coll); err != nil {
			return nil, fail(ErrInvalidRequest, "record path %q: not a collection NSID", rec.Path)
		}
		if _, err := syntax.ParseRecordKey(rkey); err != nil {
			return nil, fail(ErrInvalidRequest, "record path %q: not a record key", rec.Path)
		}
		v, err := dagcbor.Decode(snap.Block(rec.CID))
		if err != nil {
			return nil, fail(ErrInvalidRequest, "record %s: %v", rec.Path, err)
		}
		for _, b := range dagcbor.FindBlobs(v) {
			refs = append(refs, blob.RecordBlob{Path: rec.Path, CID: b.Ref})
		}
	}
	err = s.DB.Update(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteRepo(did); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := repo.Import(tx, snap); err != nil {
			return fmt.Errorf("account: import %s: %w", did, err)
		}
		if err := blob.RebuildRefs(tx, did, refs, s.Now()); err != nil {
			return fmt.Errorf("account: blob references of %s: %w", did, err)
		}
		if a.Status == StatusActive {
			return s.Events.Sync(tx, did, snap.Commit, snap.Block(snap.Commit), snap.Rev)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.Log.Info("repository imported", "did", did, "records", len(snap.Records), "rev", snap.Rev)
	return snap, nil
}

// DIDCredentials are the DID document fields an account should have here.
type DIDCredentials struct {
	RotationKeys        []string
	AlsoKnownAs         []string
	VerificationMethods map[string]string
	Services            map[string]plc.Service
}

// RecommendedCredentials are what the DID document must say for the
// account to live here: this server's rotation key, the account's handle
// and signing key, and this server as its PDS.
func (s *Service) RecommendedCredentials(a *store.Account) (*DIDCredentials, error) {
	k, err := SigningKey(a)
	if err != nil {
		return nil, err
	}
	return &DIDCredentials{
		RotationKeys:        []string{s.Rotation.Public().DIDKey()},
		AlsoKnownAs:         []string{"at://" + a.Handle},
		VerificationMethods: map[string]string{"atproto": k.Public().DIDKey()},
		Services:            map[string]plc.Service{"atproto_pds": {Type: "AtprotoPersonalDataServer", Endpoint: s.cfg.PublicURL}},
	}, nil
}

// RequestPLCSignature mails (or shows on the account page) the code that
// lets signPLCOperation sign a change of the account's DID.
func (s *Service) RequestPLCSignature(ctx context.Context, did string) error {
	if !strings.HasPrefix(did, "did:plc:") {
		return fail(ErrInvalidRequest, "only a did:plc has PLC operations")
	}
	return s.update(ctx, did, func(tx *store.Tx, a *store.Account) error {
		_, err := s.issue(tx, a, PurposePLCOperation, a.Email)
		return err
	})
}

// SignPLCOperation spends a plc_operation code and signs, with this
// server's rotation key, the next operation of the account's DID with the
// given fields replacing the current ones (nil keeps a field).
func (s *Service) SignPLCOperation(ctx context.Context, did, token string, c DIDCredentials) (*plc.Operation, error) {
	if !strings.HasPrefix(did, "did:plc:") {
		return nil, fail(ErrInvalidRequest, "only a did:plc has PLC operations")
	}
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		return consume(tx, did, PurposePLCOperation, token, s.Now())
	})
	if err != nil {
		return nil, err
	}
	last, err := s.PLC.LastOp(ctx, did)
	if err != nil {
		s.Log.Warn("signPlcOperation: reading the PLC log failed", "did", did, "err", err)
		return nil, fail(ErrUpstream, "could not read the DID's PLC log")
	}
	if !slices.Contains(last.RotationKeys, s.Rotation.Public().DIDKey()) {
		return nil, fail(ErrInvalidRequest, "This server holds no rotation key of %s, so it cannot sign for it", did)
	}
	op, err := last.Next()
	if err != nil {
		return nil, err
	}
	if c.RotationKeys != nil {
		op.RotationKeys = c.RotationKeys
	}
	if c.AlsoKnownAs != nil {
		op.AlsoKnownAs = c.AlsoKnownAs
	}
	if c.VerificationMethods != nil {
		op.VerificationMethods = c.VerificationMethods
	}
	if c.Services != nil {
		op.Services = c.Services
	}
	if err := op.Sign(s.Rotation); err != nil {
		return nil, err
	}
	if err := op.Validate(); err != nil {
		return nil, fail(ErrInvalidRequest, "the operation would be invalid: %v", err)
	}
	return op, nil
}

// SubmitPLCOperation publishes an operation for an account moving in,
// after checking it keeps what this server needs: its rotation key, its
// endpoint, the account's signing key and handle.
func (s *Service) SubmitPLCOperation(ctx context.Context, did string, op *plc.Operation) error {
	if !strings.HasPrefix(did, "did:plc:") {
		return fail(ErrInvalidRequest, "only a did:plc has PLC operations")
	}
	a, err := s.Get(did)
	if err != nil {
		return err
	}
	want, err := s.RecommendedCredentials(a)
	if err != nil {
		return err
	}
	pds := op.Services["atproto_pds"]
	switch {
	case op.Type != "plc_operation":
		return fail(ErrInvalidRequest, "the operation must be a plc_operation")
	case !slices.Contains(op.RotationKeys, want.RotationKeys[0]):
		return fail(ErrInvalidRequest, "Rotation keys do not include this server's rotation key")
	case pds.Type != "AtprotoPersonalDataServer" || strings.TrimSuffix(pds.Endpoint, "/") != s.cfg.PublicURL:
		return fail(ErrInvalidRequest, "Incorrect endpoint on atproto_pds service: it must be %s", s.cfg.PublicURL)
	case op.VerificationMethods["atproto"] != want.VerificationMethods["atproto"]:
		return fail(ErrInvalidRequest, "Incorrect signing key: it must be %s", want.VerificationMethods["atproto"])
	case !slices.Contains(op.AlsoKnownAs, "at://"+a.Handle):
		return fail(ErrInvalidRequest, "Incorrect handle in alsoKnownAs: it must hold at://%s", a.Handle)
	}
	if err := op.Validate(); err != nil {
		return fail(ErrInvalidRequest, "invalid operation: %v", err)
	}
	if err := s.PLC.Submit(ctx, did, op); err != nil {
		s.Log.Warn("submitPlcOperation: the directory refused it", "did", did, "err", err)
		return fail(ErrUpstream, "the PLC directory refused the operation")
	}
	s.Resolver.Forget(did)
	return s.DB.Update(ctx, func(tx *store.Tx) error { return s.Events.Identity(tx, did, a.Handle) })
}
