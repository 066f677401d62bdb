// Package cid holds the content identifiers atproto uses: CIDv1 over a
// sha2-256 digest with either the dag-cbor (0x71) or raw (0x55) codec.
//
// Only that one shape is accepted. Parsing is strict — the binary form must be
// exactly 36 bytes and the string form is lower-case base32 with the "b"
// multibase prefix — so a CID that round-trips through this package always
// has one byte form and one string form. CIDs marshal to DAG-CBOR as tag 42
// with the leading 0x00 identity-multibase byte.
package cid
