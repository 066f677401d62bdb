// Package plc holds did:plc operations and a client for a PLC directory.
//
// An operation is signed over its DAG-CBOR encoding (without sig) by one of
// the rotation keys of the previous operation; a DID is derived from the
// hash of its signed genesis operation. The client refuses to publish an
// operation that points at a loopback or private PDS address to a directory
// that is not itself local, so a development PDS can never register itself
// in the public directory.
package plc
