// Package keys holds atproto signing keys: K-256 (secp256k1, through
// decred's implementation) and P-256 (NIST, the standard library).
//
// Signatures are ECDSA over SHA-256 in the 64-byte compact r‖s form with S
// in the low half of the group order: Sign always produces that form, and
// Verify refuses DER encodings and high-S values (which plain ECDSA would
// accept). Public keys encode as compressed points in did:key and multibase
// (base58btc with the multicodec prefix); private keys export with the
// private-key multicodec prefixes for storage.
package keys
