// Package dagcbor implements the atproto data model: its strict DAG-CBOR
// binary form, its JSON form, and the conversions between them.
//
// The data model has null, booleans, 64-bit signed integers, UTF-8 strings,
// byte strings, links (CIDs), arrays and maps with string keys. There are no
// floats. Its binary form is a normalised DAG-CBOR in which every value has
// exactly one encoding: integers and lengths in their shortest form, definite
// lengths only, map keys sorted by length and then bytewise, and tag 42 as the
// only tag. Validate accepts exactly that; Encode produces exactly that; and
// Decode accepts only what Encode would produce, so a block that decodes is
// also a block whose hash does not depend on who wrote it.
//
// Two APIs sit side by side:
//
//   - Marshal and Unmarshal work on typed Go structs with `cbor:"name"` field
//     tags. Unmarshal checks its input with Validate first, and Marshal
//     checks its output, because the underlying library is more permissive
//     than atproto.
//   - Decode and Encode work on generic values: nil, bool, int64, string,
//     []byte, cid.CID, []any and map[string]any (Encode also takes the other
//     integer types, and Blob).
//
// In both, a nil slice, nil map or nil []byte encodes as null, and an empty
// non-nil one as an empty array, map or byte string. This matters for MST
// nodes, whose empty entry list must be [] while their missing left link must
// be null: the empty node {"e":[],"l":null} is a2 61 65 80 61 6c f6.
//
// The JSON form (FromJSON, RecordFromJSON, ToJSON) writes a link as
// {"$link": "<cid>"} and bytes as {"$bytes": "<base64, no padding>"}. Blob
// references stay ordinary maps in both forms; Blob and FindBlobs recognise
// them. AppendCBORAsJSON writes the JSON form straight from strict DAG-CBOR
// bytes, in the same walk that checks them (Validate, Decode and it share one
// walker, so they cannot disagree), without building the value.
package dagcbor
