package account

import (
	"context"
	"errors"
	"fmt"

	"time"

	"github.com/hearth-pds/hearth/identity/auth"
	"github.com/hearth-pds/hearth/store"
)

// Token lifetimes and scopes, as the reference PDS uses them.
const (
	AccessTTL    = 2 * time.Hour
	RefreshTTL   = 90 * 24 * time.Hour
	RefreshGrace = 2 * time.Minute

	ScopeAccess         = "com.atproto.access"
	ScopeAppPass        = "com.atproto.appPass"
	ScopeAppPassPrivate = "com.atproto.appPassPrivileged"
	ScopeRefresh        = "com.atproto.refresh"
	// ScopeTakendown is the narrow session a taken-down account may get, to
	// read its data and move away.
	ScopeTakendown = "com.atproto.takendown"
)

// Session is a signed-in account with its pair of tokens.
type Session struct {
	Account *store.Account
	Access  string
	Refresh string
}

// Credentials are what a verified token says of its bearer.
type Credentials struct {
	DID   string
	Scope string
	ID    string // the id of the session (its first refresh token's record)
}

// AppPassword reports whether the token came from an app password.
func (c *Credentials) AppPassword() bool {
	return c != nil && (c.Scope == ScopeAppPass || c.Scope == ScopeAppPassPrivate)
}

// mint signs an access and a refresh token for did and stores the refresh
// token's record in tx.
func (s *Service) mint(tx *store.Tx, did, scope, appPass string) (access, refresh string, err error) {
	now := s.Now()
	// The access token carries its session's id, so ending the session (a
	// sign-out, a replayed refresh, a password reset, a deletion) ends the
	// access tokens already out too.
	id := auth.RandomToken(24)
	access, err = auth.Encode(auth.Header{Alg: "HS256", Typ: "at+jwt"}, auth.Claims{
		Scope: scope, Sub: did, Aud: s.cfg.ServiceDID, Jti: id, Iat: now.Unix(), Exp: now.Add(AccessTTL).Unix(),
	}, s.JWTKey.Sign)
	if err != nil {
		return "", "", err
	}
	refresh, err = auth.Encode(auth.Header{Alg: "HS256", Typ: "refresh+jwt"}, auth.Claims{
		Scope: ScopeRefresh, Sub: did, Aud: s.cfg.ServiceDID, Jti: id, Iat: now.Unix(), Exp: now.Add(RefreshTTL).Unix(),
	}, s.JWTKey.Sign)
	if err != nil {
		return "", "", err
	}
	err = tx.PutRefreshToken(&store.RefreshToken{
		ID: id, DID: did, AppPass: appPass, Scope: scope, ExpiresAt: now.Add(RefreshTTL),
	})
	return access, refresh, err
}

// Verify checks a token of this PDS: its signature, audience, type and
// expiry. refresh selects refresh tokens; otherwise access tokens of any
// session kind are accepted.
func (s *Service) Verify(token string, refresh bool) (*Credentials, error) {
	return s.verify(token, refresh, 0)
}

// VerifySignOut checks a refresh token for signing out, which the reference
// allows past its expiry: a client can always end its session.
func (s *Service) VerifySignOut(token string) (*Credentials, error) {
	return s.verify(token, true, 100*365*24*time.Hour)
}

func (s *Service) verify(token string, refresh bool, leeway time.Duration) (*Credentials, error) {
	p := s.tokens.get(token, s.JWTKey)
	if p == nil {
		var err error
		if p, err = auth.Parse(token); err != nil {
			return nil, fail(ErrInvalidToken, "Token could not be verified")
		}
		if err := s.JWTKey.Verify(p); err != nil {
			return nil, fail(ErrInvalidToken, "Token could not be verified")
		}
		if p.Header.Typ == "at+jwt" {
			s.tokens.put(token, s.JWTKey, p)
		}
	}
	e := auth.Expect{Aud: s.cfg.ServiceDID, Now: s.Now(), Leeway: leeway}
	if refresh {
		e.Typ, e.Scopes = "refresh+jwt", []string{ScopeRefresh}
	} else {
		e.Typ, e.Scopes = "at+jwt", []string{ScopeAccess, ScopeAppPass, ScopeAppPassPrivate, ScopeTakendown}
	}
	if err := p.Check(e); err != nil {
		if errors.Is(err, auth.ErrExpired) {
			return nil, fail(ErrExpiredToken, "Token has expired")
		}
		return nil, fail(ErrInvalidToken, "Token could not be verified")
	}
	return &Credentials{DID: p.Claims.Sub, Scope: p.Claims.Scope, ID: p.Claims.Jti}, nil
}

// Current loads the account behind verified access credentials and refuses
// what its state forbids: a deleted account, an ended session, or a
// taken-down account (whose account is returned with the error, for the
// few calls it may still make).
func (s *Service) Current(c *Credentials) (*store.Account, error) {
	var a *store.Account
	live := false
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		if a, err = tx.Account(c.DID); err != nil {
			return err
		}
		live = tx.HasRefreshToken(c.ID)
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, fail(ErrNotFound, "Account not found: %s", c.DID)
	} else if err != nil {
		return nil, err
	}
	if !live {
		return nil, fail(ErrExpiredToken, "Token has been revoked")
	}
	if a.Status == StatusTakendown {
		return a, fail(ErrTakendown, "Account has been taken down")
	}
	return a, nil
}

// Refresh trades a refresh token for a new pair. The old token may be
// reused within RefreshGrace (a client retrying after a lost answer) and
// then gets the same position in the chain; reused later, it is a replay,
// and every token descended from it is revoked.
func (s *Service) Refresh(ctx context.Context, id string) (*Session, error) {
	out := &Session{}
	revoked := false
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		revoked = false
		t, err := tx.RefreshToken(id)
		if err != nil {
			revoked = true
			return nil
		}
		now := s.Now()
		if t.NextID != "" {
			replay := t.UsedAt == nil || now.Sub(*t.UsedAt) > RefreshGrace
			// Within the grace window the retry replaces the successor it
			// was given; either way the successor's line ends here. The
			// deletions must commit, so a replay returns no error.
			if err := revokeChain(tx, t.NextID); err != nil {
				return err
			}
			if replay {
				revoked = true
				return tx.DeleteRefreshToken(t.ID)
			}
		}
		a, err := tx.Account(t.DID)
		if err != nil {
			return fail(ErrNotFound, "Account not found")
		}
		if a.Status == StatusTakendown {
			return fail(ErrTakendown, "Account has been taken down")
		}
		out.Account = a
		if out.Access, out.Refresh, err = s.mint(tx, t.DID, t.Scope, t.AppPass); err != nil {
			return err
		}
		np, err := auth.Parse(out.Refresh)
		if err != nil {
			return fmt.Errorf("account: parse minted token: %w", err)
		}
		t.NextID = np.Claims.Jti
		used := now
		t.UsedAt = &used
		return tx.PutRefreshToken(t)
	})
	if err != nil {
		return nil, err
	}
	if revoked {
		return nil, fail(ErrExpiredToken, "Token has been revoked")
	}
	return out, nil
}

// revokeChain deletes the refresh token id and every token refreshed from it.
func revokeChain(tx *store.Tx, id string) error {
	for seen := 0; id != "" && seen < 10000; seen++ {
		t, err := tx.RefreshToken(id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if err := tx.DeleteRefreshToken(id); err != nil {
			return err
		}
		id = t.NextID
	}
	return nil
}

// SignOut ends the refresh session id and its descendants. Expired tokens
// are accepted, so a client can always sign out.
func (s *Service) SignOut(ctx context.Context, id string) error {
	return s.DB.Update(ctx, func(tx *store.Tx) error { return revokeChain(tx, id) })
}
