package dagcbor

import (
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// codec holds the configured encoder and decoder modes of the underlying
// library; both are safe for concurrent use.
type codec struct {
	enc cbor.EncMode
	dec cbor.DecMode
}

func newCodec() codec {
	enc, err := cbor.EncOptions{
		Sort:          cbor.SortLengthFirst, // map keys and struct fields alike
		IndefLength:   cbor.IndefLengthForbidden,
		NilContainers: cbor.NilContainerAsNull,
		TagsMd:        cbor.TagsAllowed, // cid.CID writes its own tag 42
		ShortestFloat: cbor.ShortestFloatNone,
		Time:          cbor.TimeUnix, // never used: no time.Time fields in our structs
	}.EncMode()
	if err != nil {
		panic(fmt.Sprintf("dagcbor: encoder options: %v", err))
	}
	// Validate runs first and is the real gatekeeper: it bounds depth at
	// MaxDepth and every length by the input size. The library's own limits
	// are set above those so that it never refuses what Validate accepts
	// (its depth also counts tags).
	dec, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
		TagsMd:           cbor.TagsAllowed,
		MaxNestedLevels:  2*MaxDepth + 2,
		MaxArrayElements: 1<<31 - 1,
		MaxMapPairs:      1<<31 - 1,
		UTF8:             cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(fmt.Sprintf("dagcbor: decoder options: %v", err))
	}
	return codec{enc: enc, dec: dec}
}

// std is immutable after init; it is configuration, not state.
var std = newCodec()

// Marshal encodes a typed Go value (a struct with `cbor:"name"` tags, maps
// with string keys, slices, strings, integers, bools, []byte, cid.CID, Blob)
// as canonical DAG-CBOR.
//
// A nil slice, map or []byte, and the zero cid.CID, encode as null; an empty
// non-nil slice as []. So an MST node struct with `E []entry cbor:"e"` and
// `L cid.CID cbor:"l"` must set E to a non-nil empty slice to produce the
// empty node {"e":[],"l":null}.
//
// The output is checked with Validate, so a value the data model cannot
// hold (a float, a time, an integer beyond int64, a map with non-string
// keys) is an error rather than a block no one else will accept.
func Marshal(v any) ([]byte, error) {
	b, err := std.enc.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("dagcbor: marshal: %w", err)
	}
	if err := Validate(b); err != nil {
		return nil, fmt.Errorf("dagcbor: marshal %T: %w", v, err)
	}
	return b, nil
}

// Unmarshal decodes DAG-CBOR into a typed Go value. The bytes are first
// checked to be strict DAG-CBOR (see Validate), because the underlying
// library accepts several forms atproto forbids. Decoding into a *any gives
// the same generic value as Decode.
func Unmarshal(data []byte, v any) error {
	if p, ok := v.(*any); ok {
		x, err := Decode(data)
		if err != nil {
			return err
		}
		*p = x
		return nil
	}
	if err := Validate(data); err != nil {
		return err
	}
	if err := std.dec.Unmarshal(data, v); err != nil {
		var bad *cbor.InvalidUnmarshalError
		if errors.As(err, &bad) { // the caller's mistake, not the data's
			return fmt.Errorf("dagcbor: unmarshal: %w", err)
		}
		// Valid DAG-CBOR that does not fit v, such as a string for an int.
		return fmt.Errorf("%w: unmarshal into %T: %w", ErrInvalid, v, err)
	}
	return nil
}
