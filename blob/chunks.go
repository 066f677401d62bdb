package blob

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"

	"github.com/hearth-pds/hearth/store"
)

// The chunk layout. A blob's chunks live in a bucket of their own,
// blobchunks/<id>, and within it in one nested bucket per upload batch,
// <batch>/<n>: every transaction of an upload then writes only new leaves.
// With the chunks of all blobs as plain keys of one bucket, each commit
// rewrote the leaf holding the previous chunks (bbolt keeps at least two
// keys per leaf), so a 1 MiB upload wrote (and allocated) about 2 MiB.
//
// Files written before this layout hold chunks as blobchunks/<id>‖<n>; they
// are read and deleted where they are, and compaction leaves them as they are.

func idKey(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

func chunkIndex(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }

// legacyChunkKey is the key of a chunk in the old, flat layout.
func legacyChunkKey(id uint64, n uint32) []byte {
	return binary.BigEndian.AppendUint32(idKey(id), n)
}

// putChunks stores chunks as numbers first, first+1… of blob id. The
// chunks of one call land in one new batch bucket; callers pass whole
// batches (batchChunks chunks, the last one of a blob shorter).
func putChunks(tx *bolt.Tx, id uint64, first uint32, chunks [][]byte) error {
	blob, err := tx.Bucket(bChunks).CreateBucketIfNotExists(idKey(id))
	if err != nil {
		return fmt.Errorf("blob: chunks of %d: %w", id, err)
	}
	batch, err := blob.CreateBucket(chunkIndex(first / batchChunks))
	if err != nil {
		return fmt.Errorf("blob: batch %d of %d: %w", first/batchChunks, id, err)
	}
	// Appended in order, so leaves can be filled to the brim.
	batch.FillPercent = 1
	for i, c := range chunks {
		if err := batch.Put(chunkIndex(first+uint32(i)), c); err != nil {
			return err
		}
	}
	return nil
}

// chunkAt returns chunk n of blob id, or nil when it is not stored. The
// returned bytes are valid for the life of the transaction.
func chunkAt(chunks *bolt.Bucket, id uint64, n uint32) []byte {
	blob := chunks.Bucket(idKey(id))
	if blob == nil {
		return chunks.Get(legacyChunkKey(id, n))
	}
	batch := blob.Bucket(chunkIndex(n / batchChunks))
	if batch == nil {
		return nil
	}
	return batch.Get(chunkIndex(n))
}

// deleteChunks removes every chunk of blob id, in either layout.
func deleteChunks(tx *bolt.Tx, id uint64) error {
	b := tx.Bucket(bChunks)
	err := b.DeleteBucket(idKey(id))
	if err == nil || !errors.Is(err, bolt.ErrBucketNotFound) {
		return err
	}
	prefix := idKey(id)
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// Reader reads a stored blob a chunk at a time; it is an io.ReadSeeker.
type Reader struct {
	db   *store.DB
	id   uint64
	size int64
	off  int64
}

func (r *Reader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	n := 0
	err := r.db.View(func(tx *store.Tx) error {
		b := tx.Bolt().Bucket(bChunks)
		for n < len(p) && r.off < r.size {
			idx := uint32(r.off / ChunkSize)
			chunk := chunkAt(b, r.id, idx)
			within := int(r.off % ChunkSize)
			if chunk == nil || within >= len(chunk) {
				return fmt.Errorf("blob: chunk %d of blob %d missing", idx, r.id)
			}
			k := copy(p[n:], chunk[within:])
			n += k
			r.off += int64(k)
		}
		return nil
	})
	return n, err
}

// ReadAt reads len(p) bytes at off, for metadata scanners.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	c := *r
	c.off = off
	n, err := io.ReadFull(&c, p)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	return n, err
}

// Seek implements io.Seeker.
func (r *Reader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	}
	if offset < 0 {
		return 0, errors.New("blob: negative seek")
	}
	r.off = offset
	return offset, nil
}
