package dagcbor

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every rejection of input wraps ErrInvalid; the ones that
// are only about encoding form (an item the data model allows, written in a
// form other than the one canonical form) also wrap ErrNotCanonical.
var (
	ErrInvalid      = errors.New("dagcbor: invalid data")
	ErrNotCanonical = fmt.Errorf("%w: not canonical", ErrInvalid)
	// ErrUnsupported reports a Go value with no data-model meaning given to
	// Encode or ToJSON, such as a float or a struct.
	ErrUnsupported = errors.New("dagcbor: unsupported type")
)

// SyntaxError describes bytes that are not strict DAG-CBOR.
type SyntaxError struct {
	Offset int // byte offset of the offending item
	msg    string
	kind   error // ErrInvalid or ErrNotCanonical
	cause  error // underlying error, such as a CID parse error; may be nil
}

func (e *SyntaxError) Error() string {
	s := fmt.Sprintf("dagcbor: byte %d: %s", e.Offset, e.msg)
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

func (e *SyntaxError) Unwrap() []error {
	if e.cause != nil {
		return []error{e.kind, e.cause}
	}
	return []error{e.kind}
}
