// Package lexicon holds Lexicon schemas and validates data against them.
//
// A Catalog is built from schema documents (the official com.atproto,
// app.bsky, chat.bsky and tools.ozone schemas are embedded and loaded by
// Default). ValidateRecord checks a record — a data-model value from
// repo/dagcbor — against its collection's record definition: types,
// required and nullable fields, lengths in bytes and graphemes, string
// formats, integer ranges, enums and consts, blobs, refs, and open and
// closed unions. Errors name the path of the offending field.
package lexicon
