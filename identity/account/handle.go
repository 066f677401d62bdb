package account

import (
	"context"
	"errors"
	"strings"

	"github.com/hearth-pds/hearth/identity"
	"github.com/hearth-pds/hearth/identity/plc"
	"github.com/hearth-pds/hearth/store"
)

// CheckHandle normalises a requested handle and checks that this PDS may
// give it out: a single label of 3 to 18 characters under one of its
// handle domains.
func (s *Service) CheckHandle(raw string) (string, error) {
	h, err := identity.ParseHandle(strings.ToLower(strings.TrimSpace(raw)))
	if err != nil {
		return "", fail(ErrInvalidHandle, "Input/handle must be a valid handle")
	}
	handle := string(h)
	if h.IsDisallowedTLD() && !(s.cfg.Dev && strings.HasSuffix(handle, ".test")) {
		return "", fail(ErrUnsupportedDomain, "Handle TLD is not allowed")
	}
	for _, d := range s.cfg.HandleDomains {
		if strings.HasSuffix(handle, d) {
			front := strings.TrimSuffix(handle, d)
			if strings.Contains(front, ".") {
				return "", fail(ErrInvalidHandle, "Handle may not contain dots before %s", d)
			}
			if len(front) < 3 || len(front) > 18 {
				return "", fail(ErrInvalidHandle, "Handle too short or too long: the name before %s takes 3 to 18 characters", d)
			}
			return handle, nil
		}
	}
	return "", fail(ErrUnsupportedDomain, "Not a supported handle domain: use one of %s", strings.Join(s.cfg.HandleDomains, ", "))
}

// SetHandle changes an account's handle: one under this server's domains,
// or an outside domain that already resolves to the DID. For a did:plc the
// change is published to the PLC directory first, then stored and
// announced with an #identity event.
func (s *Service) SetHandle(ctx context.Context, did, raw string) error {
	acct, err := s.Get(did)
	if err != nil {
		return err
	}
	handle := strings.ToLower(strings.TrimSpace(raw))
	if _, err := s.CheckHandle(handle); err != nil {
		// Not under our domains: the handle must already resolve to the DID.
		h, perr := identity.ParseHandle(handle)
		if perr != nil {
			return fail(ErrInvalidHandle, "Invalid handle: %q", raw)
		}
		if s.Resolver == nil {
			return err
		}
		s.Resolver.Forget(string(h)) // the owner may just have added the record
		got, rerr := s.Resolver.ResolveHandle(ctx, string(h))
		if rerr != nil {
			s.Log.Info("handle change: could not resolve the handle", "did", did, "handle", h, "err", rerr)
		}
		if rerr != nil || got != did {
			return fail(ErrInvalidHandle, "External handle did not resolve to %s: add a DNS TXT record _atproto.%s with \"did=%s\"", did, h, did)
		}
	}
	if handle == acct.Handle {
		return nil
	}
	err = s.DB.View(func(tx *store.Tx) error {
		if other, err := tx.AccountByHandle(handle); err == nil && other.DID != did {
			return fail(ErrHandleTaken, "Handle already taken: %s", handle)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if strings.HasPrefix(did, "did:plc:") {
		if err := s.publishHandle(ctx, acct, handle); err != nil {
			return err
		}
	}
	return s.DB.Update(ctx, func(tx *store.Tx) error {
		old, err := tx.Account(did)
		if err != nil {
			return err
		}
		upd := *old
		upd.Handle = handle
		if err := tx.PutAccount(old, &upd); errors.Is(err, store.ErrExists) {
			return fail(ErrHandleTaken, "Handle already taken: %s", handle)
		} else if err != nil {
			return err
		}
		return s.Events.Identity(tx, did, handle)
	})
}

// publishHandle sends a PLC operation that changes alsoKnownAs, signed
// with the server's rotation key and chained to the latest operation.
func (s *Service) publishHandle(ctx context.Context, acct *store.Account, handle string) error {
	last, err := s.PLC.LastOp(ctx, acct.DID)
	if err != nil {
		s.Log.Warn("reading the PLC log failed", "did", acct.DID, "err", err)
		return fail(ErrUpstream, "could not read the DID's PLC log")
	}
	op, err := plc.UpdateHandle(last, handle)
	if err != nil {
		return fail(ErrInvalidRequest, "cannot update this DID: %v", err)
	}
	if err := op.Sign(s.Rotation); err != nil {
		return err
	}
	if err := s.PLC.Submit(ctx, acct.DID, op); err != nil {
		s.Log.Warn("PLC directory refused a handle change", "did", acct.DID, "err", err)
		return fail(ErrUpstream, "the PLC directory refused the handle change")
	}
	return nil
}
