package xrpc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Error is an XRPC error response: an HTTP status and a body
// {"error": Name, "message": Message}.
type Error struct {
	Status  int
	Name    string
	Message string
	// Headers are extra response headers, e.g. Retry-After.
	Headers map[string]string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Name, e.Message) }

func errorf(status int, name, format string, args ...any) *Error {
	return &Error{Status: status, Name: name, Message: fmt.Sprintf(format, args...)}
}

// The errors handlers use most.
func invalidRequest(format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, "InvalidRequest", format, args...)
}

func authRequired(format string, args ...any) *Error {
	return errorf(http.StatusUnauthorized, "AuthRequired", format, args...)
}

func forbidden(format string, args ...any) *Error {
	return errorf(http.StatusForbidden, "Forbidden", format, args...)
}

func internal() *Error {
	return errorf(http.StatusInternalServerError, "InternalServerError", "Internal Server Error")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, e *Error) {
	for k, v := range e.Headers {
		w.Header().Set(k, v)
	}
	writeJSON(w, e.Status, map[string]string{"error": e.Name, "message": e.Message})
}

// asXRPC converts any handler error to an XRPC error; unknown errors become
// a 500 whose detail is logged, not sent.
func asXRPC(err error) (*Error, bool) {
	var xe *Error
	if errors.As(err, &xe) {
		return xe, true
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errorf(http.StatusRequestEntityTooLarge, "PayloadTooLarge", "request body is over %d bytes", mbe.Limit), true
	}
	return internal(), false
}
