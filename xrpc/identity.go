package xrpc

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/hearth-pds/hearth/identity"
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

// SetHandle changes an account's handle (the wizard's custom domain).
func (s *Server) SetHandle(ctx context.Context, did, raw string) error {
	return s.accounts.SetHandle(ctx, did, raw)
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
