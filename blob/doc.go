// Package blob keeps blobs (images, video) inside the one bbolt file and
// manages their lifecycle.
//
// An upload streams into fixed-size chunks keyed by a fresh blob id, hashing
// as it goes, so memory stays flat however large the blob. A blob that fits
// one batch of chunks (1 MiB) is written in one transaction; a larger one a
// batch per transaction, each into a bucket of its own so that no commit
// rewrites the chunks of another (chunks.go). Only when the
// CID is known is it registered (or, for bytes already held, the new chunks
// are dropped). Content is sniffed from the first bytes and compared with
// the declared type, and location metadata (EXIF GPS in JPEG, PNG, WebP,
// HEIC/AVIF) is refused unless the client overrides.
//
// Each account owns the blobs it uploaded. An owned blob is temporary until
// a record references it; references are counted in the transaction of the
// record write, a blob goes when its last reference goes, and temporary
// blobs expire after an hour. Bytes are read back through an io.ReadSeeker
// that loads one chunk at a time, for HTTP Range requests.
package blob
