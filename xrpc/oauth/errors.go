package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Error is a refusal as OAuth words it: an HTTP status, an error code
// (invalid_request, invalid_grant, use_dpop_nonce, …) and a description.
type Error struct {
	Status int
	Code   string
	Desc   string
	// Nonce asks the client to retry with the DPoP-Nonce sent along.
	Nonce bool
}

func (e *Error) Error() string { return fmt.Sprintf("oauth: %s: %s", e.Code, e.Desc) }

func oerr(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Desc: fmt.Sprintf(format, args...)}
}

func invalidRequest(format string, args ...any) *Error {
	return oerr(http.StatusBadRequest, "invalid_request", format, args...)
}

func invalidGrant(format string, args ...any) *Error {
	return oerr(http.StatusBadRequest, "invalid_grant", format, args...)
}

func invalidClient(format string, args ...any) *Error {
	return oerr(http.StatusBadRequest, "invalid_client_metadata", format, args...)
}

func invalidProof(format string, args ...any) *Error {
	return oerr(http.StatusBadRequest, "invalid_dpop_proof", format, args...)
}

// Sentinels the resource server's callers branch on.
var (
	// ErrNoToken: the request carries no DPoP authorization at all.
	ErrNoToken = errors.New("oauth: no DPoP token")
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeError answers err at an authorization-server endpoint.
func writeError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = oerr(http.StatusInternalServerError, "server_error", "internal error")
	}
	writeJSON(w, e.Status, map[string]string{"error": e.Code, "error_description": e.Desc})
}
