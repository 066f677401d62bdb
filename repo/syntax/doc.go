// Package syntax holds the string identifiers of atproto repositories and
// lexicons: NSIDs, record keys, TIDs (and a clock that issues them),
// AT-URIs, datetimes, language tags, generic URIs and the loose CID string
// form of lexicon "format: cid".
//
// Each parser accepts exactly what the specs and the interop vectors in
// testdata accept, does no I/O and no allocation on success (except where
// a value is built), and returns an error wrapping ErrInvalid that says
// why it refused. Parse functions return the input unchanged; the
// Normalize methods give canonical forms. DIDs and handles live in package
// identity, which ParseATURI uses for its authority.
package syntax
