package xrpc

import (
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
		did, _ = s.resolver.ResolveHandle(r.Context(), string(h))
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
	acct, err := s.loadAccount(a.DID)
	if err != nil {
		return err
	}
	handle := strings.ToLower(strings.TrimSpace(in.Handle))
	if _, err := s.checkHandle(handle); err != nil {
		// Not under our domains: the handle must already resolve to the DID.
		h, perr := identity.ParseHandle(handle)
		if perr != nil {
			return errorf(http.StatusBadRequest, "InvalidHandle", "Invalid handle: %q", in.Handle)
		}
		if s.resolver == nil {
			return err
		}
		got, rerr := s.resolver.ResolveHandle(r.Context(), string(h))
		if rerr != nil || got != a.DID {
			return errorf(http.StatusBadRequest, "InvalidHandle", "External handle did not resolve to %s: add a DNS TXT record _atproto.%s with \"did=%s\"", a.DID, h, a.DID)
		}
	}
	if handle == acct.Handle {
		return ok(w, map[string]any{})
	}
	err = s.db.View(func(tx *store.Tx) error {
		if other, err := tx.AccountByHandle(handle); err == nil && other.DID != a.DID {
			return errorf(http.StatusBadRequest, "HandleNotAvailable", "Handle already taken: %s", handle)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if strings.HasPrefix(a.DID, "did:plc:") {
		if err := s.publishHandle(r, acct, handle); err != nil {
			return err
		}
	}
	err = s.db.Update(r.Context(), func(tx *store.Tx) error {
		old, err := tx.Account(a.DID)
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
		return s.emitIdentity(tx, a.DID, handle)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// publishHandle sends a PLC operation that changes alsoKnownAs, signed
// with the server's rotation key and chained to the latest operation.
func (s *Server) publishHandle(r *http.Request, acct *store.Account, handle string) error {
	last, err := s.plc.LastOp(r.Context(), acct.DID)
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
	if err := s.plc.Submit(r.Context(), acct.DID, op); err != nil {
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
