package account

import (
	"context"
	"strings"

	"github.com/hearth-pds/hearth/store"
)

// InviteGroup is the codes made for one account.
type InviteGroup struct {
	Account string   `json:"account"`
	Codes   []string `json:"codes"`
}

// CreateInvites makes count codes of uses uses each for every account in
// forAccounts ("admin" when empty).
func (s *Service) CreateInvites(ctx context.Context, forAccounts []string, count, uses int) ([]InviteGroup, error) {
	if uses < 1 || uses > 1000 {
		return nil, fail(ErrInvalidRequest, "useCount must be between 1 and 1000")
	}
	if count < 1 {
		count = 1
	}
	if count > 100 {
		return nil, fail(ErrInvalidRequest, "codeCount must be at most 100")
	}
	if len(forAccounts) == 0 {
		forAccounts = []string{"admin"}
	}
	var out []InviteGroup
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		out = out[:0]
		for _, acc := range forAccounts {
			if acc == "" {
				acc = "admin"
			}
			g := InviteGroup{Account: acc}
			for i := 0; i < count; i++ {
				code := s.inviteCode()
				c := &store.InviteCode{Code: code, Available: uses, ForAccount: acc, CreatedBy: "admin", CreatedAt: s.Now().UTC(), Uses: []store.InviteUse{}}
				if err := tx.PutInviteCode(c); err != nil {
					return err
				}
				g.Codes = append(g.Codes, code)
			}
			out = append(out, g)
		}
		return nil
	})
	return out, err
}

func (s *Service) inviteCode() string {
	return strings.ReplaceAll(s.cfg.Hostname, ".", "-") + "-" + appPassword()[:11]
}

func checkInvite(tx *store.Tx, code string) error {
	c, err := tx.InviteCode(code)
	if err != nil || c.Disabled || len(c.Uses) >= c.Available {
		return fail(ErrInvalidInvite, "Provided invite code not available")
	}
	return nil
}

func useInvite(tx *store.Tx, code, did string, s *Service) error {
	if err := checkInvite(tx, code); err != nil {
		return err
	}
	c, _ := tx.InviteCode(code)
	c.Uses = append(c.Uses, store.InviteUse{UsedBy: did, UsedAt: s.Now().UTC()})
	return tx.PutInviteCode(c)
}
