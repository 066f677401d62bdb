// Package resolve finds DID documents and resolves handles to DIDs.
//
// A did:plc is read from a PLC directory, a did:web from
// https://<host>/.well-known/did.json. A handle resolves through a DNS TXT
// record _atproto.<handle> holding "did=<DID>" (exactly one distinct
// answer), or failing that through https://<handle>/.well-known/atproto-did.
//
// Everything fetched is untrusted: each step has a timeout, each body a size
// limit, and outside development mode only https:// and public host names
// are used, so a handle or did:web cannot point the server at itself or at
// the local network. That text check is the first fence; the second is
// identity/egress, whose dialer refuses a private address at connect time,
// whatever name or redirect led there. Network errors reach callers
// redacted (egress.ErrFetchFailed), the detail only in the log. Answers are
// kept in a small in-memory cache, bounded in size and time.
//
// Resolution proves only what the named host or directory claims. A handle
// belongs to a DID when the DID's document also names the handle: callers
// check both directions.
package resolve
