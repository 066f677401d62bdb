// Package identity holds atproto's account identifiers — DIDs (generic,
// did:plc, did:web) and handles — and, in sub-packages, keys and signatures
// (keys), PLC operations and the directory client (plc), and DID and handle
// resolution (resolve).
package identity
