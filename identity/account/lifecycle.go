package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hearth-pds/hearth/blob"
	"github.com/hearth-pds/hearth/identity/auth"
	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/store"
)

// Account states, as store.Account.Status and #account events spell them.
const (
	StatusActive      = ""
	StatusDeactivated = "deactivated"
	StatusTakendown   = "takendown"
	StatusSuspended   = "suspended"
	StatusDeleted     = "deleted"
)

// Deactivate stops the account's repository from being served to others
// and refuses writes, until Activate. deleteAfter, if set, is when the
// account may be deleted for good (DeleteExpired does it).
func (s *Service) Deactivate(ctx context.Context, did string, deleteAfter *time.Time) error {
	return s.update(ctx, did, func(tx *store.Tx, a *store.Account) error {
		switch a.Status {
		case StatusTakendown, StatusSuspended:
			return fail(ErrTakendown, "Account has been taken down")
		}
		if deleteAfter != nil {
			t := deleteAfter.UTC()
			a.DeleteAfter = &t
		}
		if a.Status == StatusDeactivated {
			return nil
		}
		a.Status = StatusDeactivated
		return s.Events.Account(tx, did, false, StatusDeactivated)
	})
}

// Activate brings a deactivated account back: #account (active), then
// #identity and #sync, so relays refresh what they know of it.
func (s *Service) Activate(ctx context.Context, did string) error {
	a, err := s.Get(did)
	if err != nil {
		return err
	}
	if a.Status == StatusDeactivated {
		hasRepo := false
		s.DB.View(func(tx *store.Tx) error {
			_, err := tx.Repo(did)
			hasRepo = err == nil
			return nil
		})
		if !hasRepo {
			return fail(ErrInvalidRequest, "There is no repository here: import it (importRepo) before activating")
		}
		// An account that moved in, or out and back, is active here only
		// once its DID says so.
		if !s.validDID(ctx, a) {
			return fail(ErrInvalidRequest, "The DID document of %s does not point to %s with this account's signing key yet: submit the PLC operation first", did, s.cfg.PublicURL)
		}
	}
	return s.update(ctx, did, func(tx *store.Tx, a *store.Account) error {
		switch a.Status {
		case StatusTakendown, StatusSuspended:
			return fail(ErrTakendown, "Account has been taken down")
		case StatusActive:
			return nil
		}
		a.Status, a.DeleteAfter = StatusActive, nil
		if err := s.Events.Account(tx, did, true, ""); err != nil {
			return err
		}
		if err := s.Events.Identity(tx, did, a.Handle); err != nil {
			return err
		}
		return s.emitSync(tx, did)
	})
}

// Resync announces an active account again, #account then #sync of its
// current commit, for a relay that holds it out of step: the #sync lets
// the relay take the repository whole instead of replaying commits.
func (s *Service) Resync(ctx context.Context, did string) error {
	return s.DB.Update(ctx, func(tx *store.Tx) error {
		a, err := tx.Account(did)
		if err != nil {
			return fmt.Errorf("account: resync %s: %w", did, err)
		}
		if !a.Active() {
			return fail(ErrInvalidRequest, "Account %s is not active: there is nothing to announce", did)
		}
		if err := s.Events.Account(tx, did, true, ""); err != nil {
			return err
		}
		return s.emitSync(tx, did)
	})
}

// emitSync announces the repository's current commit.
func (s *Service) emitSync(tx *store.Tx, did string) error {
	h, err := repo.LoadHead(tx, did)
	if err != nil {
		return fmt.Errorf("account: head of %s: %w", did, err)
	}
	r, err := tx.Repo(did)
	if err != nil {
		return err
	}
	return s.Events.Sync(tx, did, h.Commit, r.Block(h.Commit.Bytes()), h.Rev)
}

// RequestDelete mails (or shows) the code that confirms a deletion.
func (s *Service) RequestDelete(ctx context.Context, did string) error {
	return s.update(ctx, did, func(tx *store.Tx, a *store.Account) error {
		_, err := s.issue(tx, a, PurposeDeleteAccount, a.Email)
		return err
	})
}

// Delete removes an account for good after checking its password and a
// delete_account code. See Remove for what goes.
func (s *Service) Delete(ctx context.Context, did, password, token string) error {
	a, err := s.Get(did)
	if err != nil || auth.CheckPassword(a.PasswordHash, password) != nil {
		return fail(ErrBadCredentials, "Invalid did or password")
	}
	return s.DB.Update(ctx, func(tx *store.Tx) error {
		if err := consume(tx, did, PurposeDeleteAccount, token, s.Now()); err != nil {
			return err
		}
		return s.remove(tx, did)
	})
}

// Remove deletes an account without credentials (the admin's deleteAccount
// and expired deactivations).
func (s *Service) Remove(ctx context.Context, did string) error {
	return s.DB.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.Account(did); err != nil {
			return fail(ErrNotFound, "Account not found: %s", did)
		}
		return s.remove(tx, did)
	})
}

// remove deletes, in one transaction: the repository's blocks and records,
// the blobs no other account references, sessions, app passwords, codes,
// preferences, queued mail, and the DID's earlier events; then it appends
// #account with status deleted. The handle is free again afterwards.
func (s *Service) remove(tx *store.Tx, did string) error {
	if err := blob.DeleteAccount(tx, did); err != nil {
		return fmt.Errorf("account: delete blobs of %s: %w", did, err)
	}
	if err := tx.DeleteRepo(did); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("account: delete repo of %s: %w", did, err)
	}
	if err := tx.DeleteAccount(did); err != nil {
		return fmt.Errorf("account: delete %s: %w", did, err)
	}
	if err := tx.DeleteMailOf(did); err != nil {
		return fmt.Errorf("account: delete mail of %s: %w", did, err)
	}
	if err := s.Events.Remove(tx, did); err != nil {
		return err
	}
	s.Log.Info("account deleted", "did", did)
	return s.Events.Account(tx, did, false, StatusDeleted)
}

// DeleteExpired removes deactivated accounts whose deleteAfter has passed
// and returns how many went.
func (s *Service) DeleteExpired(ctx context.Context) (int, error) {
	now := s.Now()
	var due []string
	s.DB.View(func(tx *store.Tx) error {
		return tx.Accounts(func(a *store.Account) error {
			if a.Status == StatusDeactivated && a.DeleteAfter != nil && now.After(*a.DeleteAfter) {
				due = append(due, a.DID)
			}
			return nil
		})
	})
	for i, did := range due {
		if err := s.Remove(ctx, did); err != nil {
			return i, err
		}
	}
	return len(due), nil
}
