package dagcbor

import (
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Codec holds the configured encoder and decoder modes. It is built once by
// New and is safe for concurrent use; callers share one through their own
// wiring rather than a package global.
type codec struct {
	enc cbor.EncMode
	dec cbor.DecMode
}

func newCodec() codec {
	enc, err := cbor.EncOptions{
		Sort:          cbor.SortLengthFirst,
		IndefLength:   cbor.IndefLengthForbidden,
		NilContainers: cbor.NilContainerAsNull,
		TagsMd:        cbor.TagsAllowed,
		ShortestFloat: cbor.ShortestFloatNone,
		Time:          cbor.TimeUnix, // never used: no time.Time fields in our structs
	}.EncMode()
	if err != nil {
		panic(fmt.Sprintf("dagcbor: encoder options: %v", err))
	}
	dec, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
		TagsMd:           cbor.TagsAllowed,
		MaxNestedLevels:  64,
		MaxArrayElements: 1 << 16,
		MaxMapPairs:      1 << 16,
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
// with string keys, slices, strings, integers, bools, []byte, cid.CID) as
// canonical DAG-CBOR.
func Marshal(v any) ([]byte, error) {
	b, err := std.enc.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("dagcbor: marshal: %w", err)
	}
	return b, nil
}

// Unmarshal decodes DAG-CBOR into a typed Go value. The bytes are first
// checked to be strict DAG-CBOR (see Validate), because the underlying
// library accepts several forms atproto forbids.
func Unmarshal(data []byte, v any) error {
	if err := Validate(data); err != nil {
		return err
	}
	if err := std.dec.Unmarshal(data, v); err != nil {
		return fmt.Errorf("dagcbor: unmarshal: %w", err)
	}
	return nil
}
