// Package keys holds atproto signing keys: K-256 (secp256k1, through
// decred's implementation) and P-256 (NIST, the standard library), behind
// two small interfaces so the curve libraries can change without touching
// callers.
//
// Signatures are ECDSA over SHA-256 of the message, in the 64-byte compact
// r‖s form with S in the low half of the group order. Sign always produces
// that form; Verify refuses DER encodings and high-S values, which plain
// ECDSA would accept, because atproto requires one canonical signature per
// message.
//
// Public keys travel as compressed points: in did:key strings and in
// "Multikey" publicKeyMultibase values (z + base58btc of the multicodec
// prefix and the point), or, in legacy DID documents, as bare multibase
// points. Private keys export the same way with the private-key multicodec
// prefixes, which is how the server stores them.
package keys
