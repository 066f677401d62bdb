package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hearth-pds/hearth/identity/auth"
	"github.com/hearth-pds/hearth/identity/keys"
	"github.com/hearth-pds/hearth/identity/plc"
	"github.com/hearth-pds/hearth/identity/resolve"
	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/store"
)

// Config is what the account operations need to know of the deployment.
type Config struct {
	ServiceDID     string // did:web of this PDS: the audience of its tokens
	Hostname       string
	PublicURL      string
	HandleDomains  []string // suffixes, each starting with "."
	InviteRequired bool
	Dev            bool // .test handles allowed
	// LoginFloor is the constant duration of a sign-in (default 350 ms), so
	// timing does not tell a wrong password from an unknown account.
	LoginFloor time.Duration
	// HashPassword may be set by tests to a cheaper hash.
	HashPassword func(string) (string, error)
}

// Events appends the firehose events of a change in its transaction;
// xrpc/stream's Emitter is the implementation.
type Events interface {
	Identity(tx *store.Tx, did, handle string) error
	Account(tx *store.Tx, did string, active bool, status string) error
	Commit(tx *store.Tx, c *repo.Commit) error
	Sync(tx *store.Tx, did string, commit cid.CID, commitBlock []byte, rev string) error
	// Remove deletes the events of did so far (its account is going).
	Remove(tx *store.Tx, did string) error
}

// Letter is a mail to queue: a code for one purpose, to one address.
type Letter struct {
	DID, To, Handle string
	Purpose         string // a token purpose (see token.go)
	Token           string
	Expires         time.Duration
	// Subject and Body are the admin's words (PurposeNotice only).
	Subject, Body string
}

// Mailer queues mail in the caller's transaction. When Configured is false
// there is no mail server: codes are only shown on the account page, and
// Queue is never called.
type Mailer interface {
	Configured() bool
	Queue(tx *store.Tx, l Letter) error
}

// Deps are the collaborators of a Service.
type Deps struct {
	DB       *store.DB
	Writer   *repo.Writer
	Events   Events
	PLC      *plc.Client
	Resolver *resolve.Resolver
	Mailer   Mailer // nil: no mail server
	// Rotation is the server's PLC rotation key; JWTKey signs sessions.
	Rotation keys.PrivateKey
	JWTKey   auth.HS256
	Log      *slog.Logger
	Now      func() time.Time
}

// Service runs the account operations. Build it with New.
type Service struct {
	cfg Config
	Deps
	tokens *tokenCache // verified access tokens (tokencache.go)
}

// New returns a Service over d.
func New(cfg Config, d Deps) *Service {
	if cfg.LoginFloor <= 0 {
		cfg.LoginFloor = 350 * time.Millisecond
	}
	if cfg.HashPassword == nil {
		cfg.HashPassword = auth.HashPassword
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{cfg: cfg, Deps: d, tokens: newTokenCache()}
}

// Config returns the configuration in force.
func (s *Service) Config() Config { return s.cfg }

// MailConfigured reports whether codes go out by mail (else they are shown
// on the account page).
func (s *Service) MailConfigured() bool { return s.Mailer != nil && s.Mailer.Configured() }

// Get loads the account of did.
func (s *Service) Get(did string) (*store.Account, error) {
	var a *store.Account
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		a, err = tx.Account(did)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, fail(ErrNotFound, "Account not found: %s", did)
	}
	return a, err
}

// Lookup finds an account by DID, handle or email.
func (s *Service) Lookup(ident string) (*store.Account, error) {
	ident = strings.TrimSpace(ident)
	var a *store.Account
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		a, err = lookup(tx, ident)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, fail(ErrNotFound, "Account not found: %s", ident)
	}
	return a, err
}

func lookup(tx *store.Tx, ident string) (*store.Account, error) {
	switch {
	case strings.HasPrefix(ident, "did:"):
		return tx.Account(ident)
	case strings.Contains(ident, "@"):
		return tx.AccountByEmail(strings.ToLower(ident))
	default:
		return tx.AccountByHandle(strings.ToLower(strings.TrimPrefix(ident, "@")))
	}
}

// update loads the account of did in a write transaction, lets fn change a
// copy, and stores the copy.
func (s *Service) update(ctx context.Context, did string, fn func(tx *store.Tx, a *store.Account) error) error {
	return s.DB.Update(ctx, func(tx *store.Tx) error {
		old, err := tx.Account(did)
		if errors.Is(err, store.ErrNotFound) {
			return fail(ErrNotFound, "Account not found: %s", did)
		} else if err != nil {
			return err
		}
		a := *old
		if err := fn(tx, &a); err != nil {
			return err
		}
		if err := tx.PutAccount(old, &a); err != nil {
			if errors.Is(err, store.ErrExists) {
				return fail(ErrEmailTaken, "This email address is already in use, please use a different email.")
			}
			return fmt.Errorf("account: store %s: %w", did, err)
		}
		return nil
	})
}

// SigningKey parses the account's repo key.
func SigningKey(a *store.Account) (keys.PrivateKey, error) {
	k, err := keys.ParsePrivateString(a.SigningKey)
	if err != nil {
		return nil, fmt.Errorf("account: signing key of %s: %w", a.DID, err)
	}
	return k, nil
}

// DIDDoc is the DID document this PDS expects the account to have.
func (s *Service) DIDDoc(a *store.Account) map[string]any {
	k, err := SigningKey(a)
	if err != nil {
		return nil
	}
	return map[string]any{
		"@context":    []string{"https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1", "https://w3id.org/security/suites/secp256k1-2019/v1"},
		"id":          a.DID,
		"alsoKnownAs": []string{"at://" + a.Handle},
		"verificationMethod": []map[string]string{{
			"id": a.DID + "#atproto", "type": "Multikey", "controller": a.DID,
			"publicKeyMultibase": k.Public().Multibase(),
		}},
		"service": []map[string]string{{
			"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": s.cfg.PublicURL,
		}},
	}
}
