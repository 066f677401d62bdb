// Package lexicon reads Lexicon schemas and validates data against them.
//
// ParseSchema reads one Lexicon document and checks it against the rules
// of the language. A Catalog indexes the definitions of many documents;
// Default builds one from the official com.atproto, app.bsky, chat.bsky
// and tools.ozone schemas embedded in the binary.
//
// Default's catalog parses a schema the first time something asks for it
// (app.bsky.feed.post from app/bsky/feed/post.json) and keeps it, since a
// daemon uses a few dozen of the 395 and parsing them all would keep
// about 3 MB live. Lookups read an immutable index through one atomic
// load; a load builds a new index and swaps it in. A name with no
// embedded file is not remembered, and a file whose id is not the name
// it was found by is refused. Len and CheckRefs load everything first.
//
// Data is validated in its data-model form, as repo/dagcbor decodes it
// from JSON or CBOR (map[string]any, []any, int64, string, []byte, bool,
// nil, cid.CID):
//
//   - ValidateRecord and ValidateRecordKey check a record and its key
//     before a write: types, required and nullable fields, lengths in
//     bytes and in grapheme clusters, string formats, integer ranges,
//     enums and consts, blobs and their accepted MIME types and sizes,
//     refs, and open and closed unions.
//   - DecodeParams, ValidateInput and ValidateOutput do the same for the
//     query parameters and JSON bodies of XRPC calls.
//
// A failure is a *ValidationError naming the path of the offending value
// and the rule it breaks, such as
//
//	record/embed/images/0/image: blob type text/plain is not one of image/*
//
// and wrapping a sentinel (ErrInvalidRecord, ErrInvalidParams, ...). A
// collection or method the catalog does not know is reported apart
// (ErrUnknownCollection, ErrUnknownMethod), since whether that matters is
// the caller's decision.
//
// Validation is as permissive as the spec asks: unknown fields are
// ignored, open unions admit types they do not list, knownValues are
// advice, and an unknown-typed field takes any object without looking at
// its $type.
package lexicon
