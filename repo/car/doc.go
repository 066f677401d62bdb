// Package car reads and writes CAR v1 files (Content Addressable aRchives),
// the format atproto uses for repository exports, sync.getBlocks answers and
// the block slices of #commit events.
//
// A CAR v1 file is a uvarint-prefixed DAG-CBOR header
// {"roots": [CID, ...], "version": 1} followed by sections, each
// uvarint(len(cid)+len(data)) ‖ cid ‖ data.
//
// The Writer streams: it holds one fixed-size buffer and nothing else, so a
// repository of any size is exported in constant memory.
//
// The Reader is meant for untrusted input. It accepts only what this
// package's Writer would produce: a canonical header, minimal varints and
// CIDv1 sha2-256 links with the dag-cbor or raw codec. Every block is hashed
// and compared with its CID, every length is checked against Options before
// anything is allocated, and an error in a section names the block index
// and the byte offset where that section starts. A consequence worth relying on: a CAR the
// Reader accepts is re-encoded byte for byte by the Writer.
package car
