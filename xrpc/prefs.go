package xrpc

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/hearth-pds/hearth/store"
)

// personalDetails is the preference holding the birth date; only full
// sessions see or change it.
const personalDetails = "app.bsky.actor.defs#personalDetailsPref"

func (s *Server) getPreferences(w http.ResponseWriter, r *http.Request, a *Auth) error {
	var raw []byte
	s.db.View(func(tx *store.Tx) error {
		raw = append(raw, tx.Preferences(a.DID)...)
		return nil
	})
	prefs := []map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &prefs); err != nil {
			return err
		}
	}
	out := []map[string]any{}
	for _, p := range prefs {
		if p["$type"] == personalDetails && a.AppPassword() {
			continue
		}
		out = append(out, p)
	}
	return ok(w, map[string]any{"preferences": out})
}

func (s *Server) putPreferences(w http.ResponseWriter, r *http.Request, a *Auth) error {
	var in struct {
		Preferences []map[string]any `json:"preferences"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Preferences == nil {
		return invalidRequest("preferences is required")
	}
	for i, p := range in.Preferences {
		t, _ := p["$type"].(string)
		if !strings.HasPrefix(t, "app.bsky.") {
			return invalidRequest("preferences/%d: $type %q is not an app.bsky preference", i, t)
		}
		if t == personalDetails && a.AppPassword() {
			return errorf(http.StatusBadRequest, "InvalidToken", "the birth date preference needs a full session, not an app password")
		}
	}
	err := s.db.Update(r.Context(), func(tx *store.Tx) error {
		keep := in.Preferences
		if a.AppPassword() {
			// An app-password session cannot see personal details, so it
			// cannot have meant to delete them: keep the stored ones.
			var old []map[string]any
			json.Unmarshal(tx.Preferences(a.DID), &old)
			for _, p := range old {
				if p["$type"] == personalDetails {
					keep = append(keep, p)
				}
			}
		}
		raw, err := json.Marshal(keep)
		if err != nil {
			return err
		}
		return tx.PutPreferences(a.DID, raw)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
