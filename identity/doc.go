// Package identity holds atproto's account identifiers — DIDs (generic,
// did:plc, did:web) and handles — and, in sub-packages, keys and signatures
// (keys), PLC operations and the directory client (plc), and DID and handle
// resolution (resolve).
//
// The parsers here check syntax only, exactly as the atproto specs and the
// interop vectors define it; they do no I/O. They return the input
// unchanged (Handle.Normalize lower-cases a handle) and every error they
// return wraps ErrInvalid. Policy that depends on the deployment — whether
// a .test handle or a did:web on localhost is acceptable — is left to the
// caller.
package identity
