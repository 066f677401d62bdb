// Package syntax holds the string identifiers of atproto repositories and
// lexicons: NSIDs, record keys, TIDs (and a clock that issues them),
// AT-URIs, datetimes, language tags, generic URIs and the loose CID string
// form of lexicon "format: cid". Each parser accepts exactly what the spec
// and the interop vectors accept, and says why it refuses the rest.
package syntax
