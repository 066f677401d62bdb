package xrpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/hearth-pds/hearth/identity"
	"github.com/hearth-pds/hearth/identity/keys"
	"github.com/hearth-pds/hearth/identity/plc"
	"github.com/hearth-pds/hearth/store"
)

func (s *Server) resolveHandle(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	raw := strings.ToLower(r.URL.Query().Get("handle"))
	h, err := identity.ParseHandle(raw)
	if err != nil {
		return invalidRequest("Invalid handle: %q", raw)
	}
	var did string
	_ = s.db.View(func(tx *store.Tx) error {
		if a, err := tx.AccountByHandle(string(h)); err == nil {
			did = a.DID
		}
		return nil
	})
	if did == "" && s.resolver != nil {
		// The answer is the same whatever failed: the reason may say where
		// the name points, and anyone may call this.
		var err error
		if did, err = s.resolver.ResolveHandle(r.Context(), string(h)); err != nil {
			s.log.Debug("resolveHandle failed", "handle", h, "err", err)
		}
	}
	if did == "" {
		return errorf(http.StatusBadRequest, "HandleNotFound", "Unable to resolve handle")
	}
	return ok(w, map[string]string{"did": did})
}

func (s *Server) updateHandle(w http.ResponseWriter, r *http.Request, a *Auth) error {
	var in struct {
		Handle string `json:"handle"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.SetHandle(r.Context(), a.DID, in.Handle); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// SetHandle changes an account's handle: one under this server's domains,
// or an outside domain that already resolves to the DID. For a did:plc the
// change is published to the PLC directory first, then stored and
// announced with an #identity event.
func (s *Server) SetHandle(ctx context.Context, did, raw string) error {
	acct, err := s.loadAccount(did)
	if err != nil {
		return err
	}
	handle := strings.ToLower(strings.TrimSpace(raw))
	if _, err := s.checkHandle(handle); err != nil {
		// Not under our domains: the handle must already resolve to the DID.
		h, perr := identity.ParseHandle(handle)
		if perr != nil {
			return errorf(http.StatusBadRequest, "InvalidHandle", "Invalid handle: %q", raw)
		}
		if s.resolver == nil {
			return err
		}
		s.resolver.Forget(string(h)) // the owner may just have added the record
		got, rerr := s.resolver.ResolveHandle(ctx, string(h))
		if rerr != nil {
			s.log.Info("updateHandle: could not resolve the handle", "did", did, "handle", h, "err", rerr)
		}
		if rerr != nil || got != did {
			return errorf(http.StatusBadRequest, "InvalidHandle", "External handle did not resolve to %s: add a DNS TXT record _atproto.%s with \"did=%s\"", did, h, did)
		}
	}
	if handle == acct.Handle {
		return nil
	}
	err = s.db.View(func(tx *store.Tx) error {
		if other, err := tx.AccountByHandle(handle); err == nil && other.DID != did {
			return errorf(http.StatusBadRequest, "HandleNotAvailable", "Handle already taken: %s", handle)
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
	return s.db.Update(ctx, func(tx *store.Tx) error {
		old, err := tx.Account(did)
		if err != nil {
			return err
		}
		upd := *old
		upd.Handle = handle
		if err := tx.PutAccount(old, &upd); errors.Is(err, store.ErrExists) {
			return errorf(http.StatusBadRequest, "HandleNotAvailable", "Handle already taken: %s", handle)
		} else if err != nil {
			return err
		}
		return s.emitIdentity(tx, did, handle)
	})
}

// publishHandle sends a PLC operation that changes alsoKnownAs, signed
// with the server's rotation key and chained to the latest operation.
func (s *Server) publishHandle(ctx context.Context, acct *store.Account, handle string) error {
	last, err := s.plc.LastOp(ctx, acct.DID)
	if err != nil {
		return errorf(http.StatusBadGateway, "UpstreamFailure", "could not read the DID's PLC log: %v", err)
	}
	op, err := plc.UpdateHandle(last, handle)
	if err != nil {
		return invalidRequest("cannot update this DID: %v", err)
	}
	if err := op.Sign(s.rotation); err != nil {
		return err
	}
	if err := s.plc.Submit(ctx, acct.DID, op); err != nil {
		return errorf(http.StatusBadGateway, "UpstreamFailure", "the PLC directory refused the handle change: %v", err)
	}
	return nil
}

// serveAtprotoDID answers /.well-known/atproto-did for hosted handles by
// the Host header.
func (s *Server) serveAtprotoDID(w http.ResponseWriter, r *http.Request) {
	host := strings.ToLower(r.Host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	var did string
	_ = s.db.View(func(tx *store.Tx) error {
		if a, err := tx.AccountByHandle(host); err == nil && a.Active() {
			did = a.DID
		}
		return nil
	})
	if did == "" {
		http.Error(w, "User not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, did)
}

// serveDIDJSON is the did:web document of the PDS itself.
func (s *Server) serveDIDJSON(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"@context": []string{"https://www.w3.org/ns/did/v1"},
		"id":       s.serviceDID,
		"service": []map[string]string{{
			"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": s.cfg.PublicURL,
		}},
	})
}

func (s *Server) getRecommendedDidCredentials(w http.ResponseWriter, r *http.Request, a *Auth) error {
	acct, err := s.loadAccount(a.DID)
	if err != nil {
		return err
	}
	k, err := keys.ParsePrivateString(acct.SigningKey)
	if err != nil {
		return err
	}
	return ok(w, map[string]any{
		"rotationKeys":        []string{s.rotation.Public().DIDKey()},
		"alsoKnownAs":         []string{"at://" + acct.Handle},
		"verificationMethods": map[string]string{"atproto": k.Public().DIDKey()},
		"services": map[string]any{"atproto_pds": map[string]string{
			"type": "AtprotoPersonalDataServer", "endpoint": s.cfg.PublicURL,
		}},
	})
}
