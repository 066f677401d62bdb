package account

import (
	"context"
	"sort"
	"strings"

	"github.com/hearth-pds/hearth/store"
)

// The admin's operations: what pdsadmin and goat pds admin ask of a PDS.

// SetEmail replaces an account's address without a code (the admin's
// updateAccountEmail). The new address is unconfirmed, two-factor sign-in
// is off, and the account's codes are void.
func (s *Service) SetEmail(ctx context.Context, did, email string) error {
	email = strings.TrimSpace(email)
	if err := checkEmail(email); err != nil {
		return err
	}
	return s.update(ctx, did, func(tx *store.Tx, a *store.Account) error {
		if strings.EqualFold(email, a.Email) {
			a.Email = email
			return nil
		}
		if other, err := tx.AccountByEmail(email); err == nil && other.DID != did {
			return fail(ErrEmailTaken, "This email address is already in use, please use a different email.")
		}
		a.Email, a.EmailConfirmed, a.EmailAuthFactor = email, nil, false
		return tx.DeleteEmailTokensOf(did)
	})
}

// SendNotice queues a free-form mail from the admin to an account and
// reports whether it was queued (false when there is no mail server).
func (s *Service) SendNotice(ctx context.Context, did, subject, body string) (bool, error) {
	if strings.TrimSpace(subject) == "" || strings.TrimSpace(body) == "" {
		return false, fail(ErrInvalidRequest, "subject and content are required")
	}
	if !s.MailConfigured() {
		a, err := s.Get(did)
		if err != nil {
			return false, err
		}
		s.Log.Info("admin mail not sent: no mail server is configured", "did", a.DID)
		return false, nil
	}
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		a, err := tx.Account(did)
		if err != nil {
			return fail(ErrNotFound, "Account not found: %s", did)
		}
		if a.Email == "" {
			return fail(ErrInvalidRequest, "account does not have an email address")
		}
		return s.Mailer.Queue(tx, Letter{DID: did, To: a.Email, Handle: a.Handle, Purpose: PurposeNotice, Subject: subject, Body: body})
	})
	return err == nil, err
}

// PurposeNotice is a letter without a code: the admin's own words.
const PurposeNotice = "notice"

// InviteCodes lists invite codes, newest first ("recent") or by uses
// ("usage"), a page of limit after cursor (a code).
func (s *Service) InviteCodes(order string, limit int, cursor string) ([]store.InviteCode, string, error) {
	var all []store.InviteCode
	err := s.DB.View(func(tx *store.Tx) error {
		return tx.InviteCodes(func(c *store.InviteCode) error {
			all = append(all, *c)
			return nil
		})
	})
	if err != nil {
		return nil, "", err
	}
	sort.SliceStable(all, func(i, j int) bool {
		if order == "usage" && len(all[i].Uses) != len(all[j].Uses) {
			return len(all[i].Uses) > len(all[j].Uses)
		}
		if !all[i].CreatedAt.Equal(all[j].CreatedAt) {
			return all[i].CreatedAt.After(all[j].CreatedAt)
		}
		return all[i].Code < all[j].Code
	})
	if cursor != "" {
		for i, c := range all {
			if c.Code == cursor {
				all = all[i+1:]
				break
			}
		}
	}
	next := ""
	if limit > 0 && len(all) > limit {
		all = all[:limit]
		next = all[limit-1].Code
	}
	return all, next, nil
}

// AccountInviteCodes lists the codes made for did.
func (s *Service) AccountInviteCodes(did string) ([]store.InviteCode, error) {
	var out []store.InviteCode
	err := s.DB.View(func(tx *store.Tx) error {
		return tx.InviteCodes(func(c *store.InviteCode) error {
			if c.ForAccount == did {
				out = append(out, *c)
			}
			return nil
		})
	})
	return out, err
}

// DisableInviteCodes disables the named codes and every code of the named
// accounts.
func (s *Service) DisableInviteCodes(ctx context.Context, codes, accounts []string) error {
	want := map[string]bool{}
	for _, c := range codes {
		want[c] = true
	}
	of := map[string]bool{}
	for _, a := range accounts {
		of[a] = true
	}
	return s.DB.Update(ctx, func(tx *store.Tx) error {
		var hit []*store.InviteCode
		err := tx.InviteCodes(func(c *store.InviteCode) error {
			if (want[c.Code] || of[c.ForAccount]) && !c.Disabled {
				c.Disabled = true
				hit = append(hit, c)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, c := range hit {
			if err := tx.PutInviteCode(c); err != nil {
				return err
			}
		}
		return nil
	})
}

// SetInvitesDisabled stops (or lets again) an account make invite codes.
func (s *Service) SetInvitesDisabled(ctx context.Context, did string, disabled bool) error {
	return s.update(ctx, did, func(tx *store.Tx, a *store.Account) error {
		a.InvitesDisabled = disabled
		return nil
	})
}
