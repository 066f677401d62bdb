package account

import (
	"context"
	"errors"
	"strings"

	"github.com/hearth-pds/hearth/identity/auth"
	"github.com/hearth-pds/hearth/store"
)

// MaxAppPasswords is how many app passwords one account may hold.
const MaxAppPasswords = 50

// NewAppPassword is a created app password; Password is shown once.
type NewAppPassword struct {
	store.AppPassword
	Password string
}

// CreateAppPassword makes a named app password for did.
func (s *Service) CreateAppPassword(ctx context.Context, did, name string, privileged bool) (*NewAppPassword, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return nil, fail(ErrInvalidRequest, "name must be 1 to 100 characters")
	}
	pw := appPassword()
	hash, err := s.cfg.HashPassword(pw)
	if err != nil {
		return nil, err
	}
	ap := store.AppPassword{Name: name, Hash: hash, Privileged: privileged, CreatedAt: s.Now().UTC()}
	err = s.DB.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.Account(did); err != nil {
			return fail(ErrNotFound, "Account not found: %s", did)
		}
		list, err := tx.AppPasswords(did)
		if err != nil {
			return err
		}
		if len(list) >= MaxAppPasswords {
			return fail(ErrInvalidRequest, "too many app passwords: revoke one first")
		}
		if err := tx.PutAppPassword(did, &ap); errors.Is(err, store.ErrExists) {
			return fail(ErrDuplicateName, "An app password named %q already exists", name)
		} else {
			return err
		}
	})
	if err != nil {
		return nil, err
	}
	return &NewAppPassword{AppPassword: ap, Password: pw}, nil
}

// AppPasswords lists the app passwords of did.
func (s *Service) AppPasswords(did string) ([]store.AppPassword, error) {
	var list []store.AppPassword
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		list, err = tx.AppPasswords(did)
		return err
	})
	return list, err
}

// RevokeAppPassword deletes an app password and the sessions made with it.
func (s *Service) RevokeAppPassword(ctx context.Context, did, name string) error {
	return s.DB.Update(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteAppPassword(did, name); errors.Is(err, store.ErrNotFound) {
			return fail(ErrInvalidRequest, "no app password named %q", name)
		} else {
			return err
		}
	})
}

func (s *Service) checkAppPassword(did, password string) (scope, name string) {
	if !appPasswordShape(password) {
		return "", ""
	}
	list, _ := s.AppPasswords(did)
	for _, ap := range list {
		if auth.CheckPassword(ap.Hash, password) == nil {
			if ap.Privileged {
				return ScopeAppPassPrivate, ap.Name
			}
			return ScopeAppPass, ap.Name
		}
	}
	return "", ""
}

// appPassword makes a password of the shape xxxx-xxxx-xxxx-xxxx.
func appPassword() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	raw := []byte(auth.RandomToken(16))
	var b strings.Builder
	for i := 0; i < 16; i++ {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(alphabet[int(raw[i])%len(alphabet)])
	}
	return b.String()
}

func appPasswordShape(p string) bool {
	if len(p) != 19 {
		return false
	}
	for i, c := range p {
		if i%5 == 4 {
			if c != '-' {
				return false
			}
		} else if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}
