// Package plc holds did:plc operations and a client for a PLC directory.
//
// An operation is signed over its DAG-CBOR encoding without the sig field,
// by a rotation key of the operation it follows (or, for a genesis, one of
// its own). Its CID, the sha-256 of its signed DAG-CBOR, is what the next
// operation names as prev; the DID itself is "did:plc:" and the first 24
// characters of the base32 of the signed genesis operation's hash. So the
// exact bytes matter: the JSON decoders here accept exactly the spec's field
// names, and every operation knows its own encoding (Operation,
// Tombstone, and the legacy LegacyCreate that old DIDs start with).
//
// The client refuses to publish an operation that points at a loopback,
// private or otherwise local address to a directory that is not itself
// local, so a development PDS can never register itself in the public
// directory (see CheckPublishable).
package plc
