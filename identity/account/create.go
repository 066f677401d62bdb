package account

import (
	"context"
	"errors"
	"net/mail"
	"strings"

	"github.com/hearth-pds/hearth/identity"
	"github.com/hearth-pds/hearth/identity/keys"
	"github.com/hearth-pds/hearth/identity/plc"
	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/store"
)

// CreateInput is a sign-up.
type CreateInput struct {
	Email       string `json:"email"`
	Handle      string `json:"handle"`
	DID         string `json:"did"`
	InviteCode  string `json:"inviteCode"`
	Password    string `json:"password"`
	RecoveryKey string `json:"recoveryKey"`
	// NoInvite skips the invite check (the wizard's owner account, which the
	// setup code unlocks instead).
	NoInvite bool `json:"-"`
	// ServiceAuth is the old host's service token that brings an existing
	// DID here (the caller's Bearer token).
	ServiceAuth string `json:"-"`
}

// checkEmail refuses what is not a plain address with a dotted domain.
func checkEmail(e string) error {
	addr, err := mail.ParseAddress(e)
	if err != nil || addr.Address != e || !strings.Contains(e[strings.IndexByte(e, '@'):], ".") {
		return fail(ErrInvalidEmail, "This email address is not supported, please use a different email.")
	}
	return nil
}

// Create checks a sign-up, registers the DID, and creates the account, its
// first commit, its events and its first session in one transaction.
func (s *Service) Create(ctx context.Context, in CreateInput) (*Session, error) {
	in.Email = strings.TrimSpace(in.Email)
	handle, needInvite, err := s.checkCreate(ctx, in)
	if err != nil {
		return nil, err
	}
	// An existing DID moves in with its old host's token; only a did:web
	// that already names this server may be brought without one.
	if in.ServiceAuth != "" {
		if in.DID == "" {
			return nil, fail(ErrInvalidRequest, "a service token needs the did it was issued for")
		}
		return s.createMovedIn(ctx, in, handle, needInvite)
	}
	if strings.HasPrefix(in.DID, "did:plc:") {
		return nil, fail(ErrServiceAuthRequired, "Bringing %s here needs a service token from its current host (getServiceAuth for %s)", in.DID, LxmCreateAccount)
	}
	signing, err := keys.GenerateK256()
	if err != nil {
		return nil, err
	}
	hash, err := s.cfg.HashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	did, err := s.registerDID(ctx, in, handle, signing)
	if err != nil {
		return nil, err
	}
	a := &store.Account{
		DID: did, Handle: handle, Email: in.Email, PasswordHash: hash,
		SigningKey: keys.MarshalPrivate(signing), CreatedAt: s.Now().UTC(), InviteCode: in.InviteCode,
	}
	out, err := s.createNew(ctx, a, signing, needInvite)
	if err != nil {
		return nil, err
	}
	s.Log.Info("account created", "did", did, "handle", handle)
	return out, nil
}

// checkCreate checks a sign-up's input and that its handle, email and DID
// are free, before anything touches the PLC directory. It returns the
// normalized handle and whether an invite is to be used.
func (s *Service) checkCreate(ctx context.Context, in CreateInput) (handle string, needInvite bool, err error) {
	handle, err = s.CheckHandle(in.Handle)
	if errors.Is(err, ErrUnsupportedDomain) && in.ServiceAuth != "" && in.DID != "" {
		handle, err = s.externalHandle(ctx, in.Handle, in.DID)
	}
	if err != nil {
		return "", false, err
	}
	if in.Email == "" {
		return "", false, fail(ErrInvalidRequest, "Email is required")
	}
	if err := checkEmail(in.Email); err != nil {
		return "", false, err
	}
	if err := checkPassword(in.Password); err != nil {
		return "", false, err
	}
	needInvite = s.cfg.InviteRequired && !in.NoInvite
	if needInvite && in.InviteCode == "" {
		return "", false, fail(ErrInvalidInvite, "No invite code provided")
	}
	err = s.DB.View(func(tx *store.Tx) error {
		if _, err := tx.AccountByHandle(handle); err == nil {
			return fail(ErrHandleTaken, "Handle already taken: %s", handle)
		}
		if _, err := tx.AccountByEmail(in.Email); err == nil {
			return fail(ErrEmailTaken, "Email already taken: %s", in.Email)
		}
		if in.DID != "" {
			if _, err := tx.Account(in.DID); err == nil {
				return fail(ErrRepoExists, "An account for %s is already here", in.DID)
			}
		}
		if needInvite {
			return checkInvite(tx, in.InviteCode)
		}
		return nil
	})
	if err != nil {
		return "", false, err
	}
	return handle, needInvite, nil
}

// createNew stores a new account a, whose DID is registered, with its
// first commit and its session, in one transaction.
func (s *Service) createNew(ctx context.Context, a *store.Account, signing keys.PrivateKey, needInvite bool) (*Session, error) {
	out := &Session{Account: a}
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		if needInvite {
			if err := useInvite(tx, a.InviteCode, a.DID, s); err != nil {
				return err
			}
		}
		if err := tx.CreateAccount(a); err != nil {
			if errors.Is(err, store.ErrExists) {
				return fail(ErrHandleTaken, "Handle or email already taken")
			}
			return err
		}
		c, err := s.Writer.Create(tx, a.DID, signing)
		if err != nil {
			if errors.Is(err, repo.ErrRepoExists) {
				return fail(ErrRepoExists, "A repository for %s already exists", a.DID)
			}
			return err
		}
		if err := s.emitCreated(tx, a, c); err != nil {
			return err
		}
		out.Access, out.Refresh, err = s.mint(tx, a.DID, ScopeAccess, "")
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// emitCreated announces a new account as the reference PDS does:
// #identity, #account, #commit and #sync in one transaction.
func (s *Service) emitCreated(tx *store.Tx, a *store.Account, c *repo.Commit) error {
	if err := s.Events.Identity(tx, a.DID, a.Handle); err != nil {
		return err
	}
	if err := s.Events.Account(tx, a.DID, true, ""); err != nil {
		return err
	}
	if err := s.Events.Commit(tx, c); err != nil {
		return err
	}
	return s.Events.Sync(tx, a.DID, c.CID, c.Blocks[0].Data, c.Rev)
}

func checkPassword(pw string) error {
	if pw == "" {
		return fail(ErrInvalidRequest, "Password is required")
	}
	if len(pw) > 256 {
		return fail(ErrInvalidRequest, "Password is too long")
	}
	return nil
}

// registerDID creates the account's DID: a signed genesis operation sent
// to the PLC directory, or a caller-supplied did:web whose document already
// names this PDS.
func (s *Service) registerDID(ctx context.Context, in CreateInput, handle string, signing keys.PrivateKey) (string, error) {
	if in.DID != "" {
		did, err := identity.ParseDID(in.DID)
		if err != nil || !did.IsWeb() {
			return "", fail(ErrInvalidRequest, "only a did:web may be brought to this PDS at sign-up")
		}
		s.Resolver.Forget(string(did)) // the user may just have fixed the document
		doc, err := s.Resolver.ResolveDID(ctx, string(did))
		if err != nil {
			s.Log.Info("resolving a did:web at sign-up failed", "did", did, "err", err)
			return "", fail(ErrInvalidRequest, "could not resolve %s", did)
		}
		if ep, _ := doc.PDSEndpoint(); strings.TrimSuffix(ep, "/") != s.cfg.PublicURL {
			return "", fail(ErrInvalidRequest, "the DID document of %s must name %s as its atproto_pds service", did, s.cfg.PublicURL)
		}
		return string(did), nil
	}
	rotation := []string{s.Rotation.Public().DIDKey()}
	if in.RecoveryKey != "" {
		if _, err := keys.ParseDIDKey(in.RecoveryKey); err != nil {
			return "", fail(ErrInvalidRequest, "recoveryKey must be a did:key: %v", err)
		}
		rotation = append([]string{in.RecoveryKey}, rotation...)
	}
	op := plc.Genesis(rotation, signing.Public().DIDKey(), handle, s.cfg.PublicURL)
	if err := op.Sign(s.Rotation); err != nil {
		return "", err
	}
	did, err := plc.DIDFromGenesis(op)
	if err != nil {
		return "", err
	}
	if err := s.PLC.Submit(ctx, did, op); err != nil {
		s.Log.Warn("PLC directory refused the genesis operation", "did", did, "err", err)
		return "", fail(ErrUpstream, "the PLC directory did not accept the new DID")
	}
	return did, nil
}
