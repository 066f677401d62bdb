package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/store"
)

// Sentinel errors the XRPC layer maps to its error names.
var (
	ErrTooLarge     = errors.New("blob: too large")
	ErrTypeMismatch = errors.New("blob: content does not match the declared type")
	ErrLocation     = errors.New("blob: image carries location metadata")
	ErrNotFound     = errors.New("blob: not found")
	ErrMismatch     = errors.New("blob: reference does not match the stored blob")
	ErrTakenDown    = errors.New("blob: taken down")
	ErrTruncated    = errors.New("blob: upload incomplete")
)

// Defaults.
const (
	ChunkSize    = 256 << 10
	DefaultLimit = 100 << 20
	// TempTTL is how long an uploaded blob waits for a record to use it.
	TempTTL = time.Hour
	// batchChunks is how many chunks one upload transaction writes.
	batchChunks = 4
)

var (
	bBlobs   = []byte("blobs")
	bChunks  = []byte("blobchunks")
	bOwners  = []byte("blobowners")
	bPending = []byte("blobpending")
)

// Meta describes a stored blob.
type Meta struct {
	CID       cid.CID   `json:"-"`
	ID        uint64    `json:"id"`
	Size      int64     `json:"size"`
	MimeType  string    `json:"mimeType"`
	CreatedAt time.Time `json:"createdAt"`
	// TakenDown is set on what Get returns when the asking account's hold
	// is taken down.
	TakenDown bool `json:"takenDown,omitempty"`
}

// Owner is an account's hold on a blob.
type Owner struct {
	Refs      int       `json:"refs"`
	Temp      bool      `json:"temp"` // never referenced yet
	CreatedAt time.Time `json:"createdAt"`
	Rev       string    `json:"rev,omitempty"` // rev of the commit that first referenced it
	// TakenDown hides the blob of this account (an admin takedown).
	TakenDown bool `json:"takenDown,omitempty"`
}

// Store manages blobs in a store.DB.
type Store struct {
	DB    *store.DB
	Limit int64 // largest blob accepted; 0 means DefaultLimit
	Now   func() time.Time

	// chunks holds chunk buffers between uploads: a 1 MiB upload would
	// otherwise allocate (and the GC sweep) 1 MiB of buffers each time.
	// Its zero value is ready; a Store is used by pointer and not copied.
	chunks sync.Pool
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Store) limit() int64 {
	if s.Limit > 0 {
		return s.Limit
	}
	return DefaultLimit
}

func ownerKey(did string, c cid.CID) []byte {
	return append(append([]byte(did), 0), c.Bytes()...)
}

// UploadOptions are the client's choices for one upload.
type UploadOptions struct {
	MimeType      string // declared Content-Type
	AllowLocation bool   // keep location metadata (the client said so)
}

// Upload streams r into the store for did and returns the blob's metadata.
//
// A blob of up to batchChunks chunks (1 MiB) is read into memory and
// stored in one transaction: one fsync, where a streamed upload takes one
// per batch plus two. Memory stays bounded either way: a batch of chunk
// buffers is allocated once and reused for every batch of a large blob.
func (s *Store) Upload(ctx context.Context, did string, r io.Reader, opts UploadOptions) (Meta, error) {
	u := &upload{h: sha256.New(), batch: make([][]byte, 0, batchChunks), pool: &s.chunks}
	defer u.release()
	eof, err := u.readBatch(r, s.limit())
	if err != nil {
		return Meta{}, err
	}
	if eof {
		return s.uploadSmall(ctx, did, u, opts)
	}
	var id uint64
	err = s.DB.Update(ctx, func(tx *store.Tx) error {
		var err error
		if id, err = tx.Bolt().Bucket(bChunks).NextSequence(); err != nil {
			return err
		}
		return tx.Bolt().Bucket(bPending).Put(binary.BigEndian.AppendUint64(nil, id), binary.BigEndian.AppendUint64(nil, uint64(s.now().Unix())))
	})
	if err != nil {
		return Meta{}, err
	}
	m, err := s.uploadStream(ctx, id, did, r, u, opts)
	if err != nil {
		// Drop what was written; the sweeper would otherwise do it later.
		s.DB.Update(context.Background(), func(tx *store.Tx) error { return dropUpload(tx.Bolt(), id) })
	}
	return m, err
}

// upload is the state of one upload: the hash so far, the size, the first
// bytes (for the type sniff) and the batch of chunks not yet stored.
type upload struct {
	h     hash.Hash
	size  int64
	head  []byte
	n     uint32 // chunks read
	batch [][]byte
	spare [][]byte   // chunk buffers of stored batches, for reuse
	pool  *sync.Pool // the store's chunk buffers
	// carry is the byte read past a full batch to learn whether the
	// stream had ended; it starts the next chunk.
	carry    byte
	hasCarry bool
}

// readBatch fills the batch with up to batchChunks chunks; eof reports
// that the stream ended. A full batch is followed by a one-byte read, so
// that a blob of exactly batchChunks chunks (a 1 MiB upload) is known whole
// and stored in one transaction rather than streamed in three.
func (u *upload) readBatch(r io.Reader, limit int64) (eof bool, err error) {
	for len(u.batch) < batchChunks {
		var buf []byte
		if k := len(u.spare); k > 0 {
			buf, u.spare = u.spare[k-1], u.spare[:k-1]
		} else {
			buf = u.buffer()
		}
		start := 0
		if u.hasCarry {
			buf[0], start, u.hasCarry = u.carry, 1, false
		}
		k, err := fill(r, buf[start:ChunkSize])
		if err == io.EOF && start > 0 {
			err = nil // the carried byte is this chunk
		}
		if k += start; k > 0 {
			if err := u.take(buf[:k], limit); err != nil {
				return false, err
			}
		} else {
			u.spare = append(u.spare, buf)
		}
		if err == io.EOF {
			return true, nil
		}
		if err != nil {
			// A body that ends early (io.ErrUnexpectedEOF from net/http) is
			// a failed upload, not a short blob.
			return false, fmt.Errorf("%w: upload cut short: %v", ErrTruncated, err)
		}
		if k < ChunkSize {
			return true, nil // fill stopped short only at the end
		}
	}
	var one [1]byte
	switch n, err := io.ReadFull(r, one[:]); {
	case n == 1:
		u.carry, u.hasCarry = one[0], true
		return false, nil
	case err == io.EOF:
		return true, nil
	default:
		return false, fmt.Errorf("%w: upload cut short: %v", ErrTruncated, err)
	}
}

// take adds a chunk read from the stream to the batch.
func (u *upload) take(chunk []byte, limit int64) error {
	u.size += int64(len(chunk))
	if u.size > limit {
		return fmt.Errorf("%w: over %d bytes", ErrTooLarge, limit)
	}
	u.h.Write(chunk)
	if u.head == nil {
		u.head = bytes.Clone(chunk[:min(len(chunk), 4096)])
	}
	u.batch = append(u.batch, chunk)
	u.n++
	return nil
}

// buffer is a chunk buffer from the store's pool, or a new one.
func (u *upload) buffer() []byte {
	if b, ok := u.pool.Get().(*[ChunkSize]byte); ok {
		return b[:]
	}
	return new([ChunkSize]byte)[:]
}

// release returns every buffer of u to the pool; u's chunks must no longer
// be referenced (their transaction has committed or been rolled back).
func (u *upload) release() {
	u.recycle()
	for _, b := range u.spare {
		u.pool.Put((*[ChunkSize]byte)(b[:ChunkSize]))
	}
	u.spare = nil
}

// putBatch writes the batch's chunks of blob id inside tx.
func (u *upload) putBatch(tx *bolt.Tx, id uint64) error {
	return putChunks(tx, id, u.n-uint32(len(u.batch)), u.batch)
}

// recycle makes the stored batch's buffers available again; bbolt has
// copied them by the time its transaction committed.
func (u *upload) recycle() {
	for _, c := range u.batch {
		u.spare = append(u.spare, c[:cap(c)])
	}
	u.batch = u.batch[:0]
}

// meta checks what was read and describes the blob.
func (s *Store) meta(u *upload, opts UploadOptions) (Meta, error) {
	if u.size == 0 {
		return Meta{}, fmt.Errorf("%w: empty upload", ErrTypeMismatch)
	}
	mime, err := decideType(opts.MimeType, u.head)
	if err != nil {
		return Meta{}, err
	}
	c, _ := cid.FromDigest(cid.Raw, u.h.Sum(nil))
	return Meta{CID: c, Size: u.size, MimeType: mime, CreatedAt: s.now().UTC()}, nil
}

// uploadSmall stores a blob held whole in u.batch in one transaction.
func (s *Store) uploadSmall(ctx context.Context, did string, u *upload, opts UploadOptions) (Meta, error) {
	m, err := s.meta(u, opts)
	if err != nil {
		return Meta{}, err
	}
	if !opts.AllowLocation {
		where, err := FindLocation(chunksReader(u.batch), m.Size)
		if err != nil {
			return Meta{}, err
		}
		if where != "" {
			return Meta{}, locationError(where)
		}
	}
	err = s.DB.Update(ctx, func(tx *store.Tx) error {
		bt := tx.Bolt()
		mt := m
		if bt.Bucket(bBlobs).Get(m.CID.Bytes()) == nil {
			id, err := bt.Bucket(bChunks).NextSequence()
			if err != nil {
				return err
			}
			if err := u.putBatch(bt, id); err != nil {
				return err
			}
			mt.ID = id
		}
		var err error
		m, err = s.record(tx, did, mt, 0)
		return err
	})
	return m, err
}

// uploadStream stores the rest of a blob larger than one batch as blob id,
// a batch per transaction.
func (s *Store) uploadStream(ctx context.Context, id uint64, did string, r io.Reader, u *upload, opts UploadOptions) (Meta, error) {
	flush := func() error {
		if len(u.batch) == 0 {
			return nil
		}
		err := s.DB.Update(ctx, func(tx *store.Tx) error { return u.putBatch(tx.Bolt(), id) })
		u.recycle()
		return err
	}
	for {
		if err := flush(); err != nil {
			return Meta{}, err
		}
		eof, err := u.readBatch(r, s.limit())
		if err != nil {
			return Meta{}, err
		}
		if eof {
			break
		}
	}
	if err := flush(); err != nil {
		return Meta{}, err
	}
	m, err := s.meta(u, opts)
	if err != nil {
		return Meta{}, err
	}
	m.ID = id
	if !opts.AllowLocation {
		where, err := FindLocation(&Reader{db: s.DB, id: id, size: m.Size}, m.Size)
		if err != nil {
			return Meta{}, err
		}
		if where != "" {
			return Meta{}, locationError(where)
		}
	}
	err = s.DB.Update(ctx, func(tx *store.Tx) error {
		var err error
		m, err = s.record(tx, did, m, id)
		return err
	})
	return m, err
}

func locationError(where string) error {
	return fmt.Errorf("%w (%s); remove it, or upload with the header %s: true to keep it", ErrLocation, where, AllowLocationHeader)
}

// record stores the metadata of a blob whose chunks are written (or, when
// the same bytes are already held, drops the pending upload pending, if
// any) and gives did its hold on it. It returns the stored metadata.
func (s *Store) record(tx *store.Tx, did string, m Meta, pending uint64) (Meta, error) {
	bt := tx.Bolt()
	c := m.CID
	if old := bt.Bucket(bBlobs).Get(c.Bytes()); old != nil {
		// The same bytes are already held: keep one copy.
		var om Meta
		if err := json.Unmarshal(old, &om); err != nil {
			return Meta{}, err
		}
		if pending != 0 {
			if err := dropUpload(bt, pending); err != nil {
				return Meta{}, err
			}
		}
		om.CID = c
		m = om
	} else {
		raw, _ := json.Marshal(m)
		if err := bt.Bucket(bBlobs).Put(c.Bytes(), raw); err != nil {
			return Meta{}, err
		}
		if pending != 0 {
			if err := bt.Bucket(bPending).Delete(binary.BigEndian.AppendUint64(nil, pending)); err != nil {
				return Meta{}, err
			}
		}
	}
	ob := bt.Bucket(bOwners)
	if ob.Get(ownerKey(did, c)) == nil {
		// A blob the account's imported records already use is
		// referenced from the start; any other waits for a record.
		refs, err := takeMissing(tx, did, c)
		if err != nil {
			return Meta{}, err
		}
		o := Owner{Temp: refs == 0, Refs: refs, CreatedAt: s.now().UTC()}
		raw, _ := json.Marshal(o)
		if err := ob.Put(ownerKey(did, c), raw); err != nil {
			return Meta{}, err
		}
	}
	return m, nil
}

// chunksReader reads a blob held in memory as chunks of ChunkSize (the
// last one shorter).
type chunksReader [][]byte

func (c chunksReader) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		i := int(off / ChunkSize)
		if i >= len(c) || int(off%ChunkSize) >= len(c[i]) {
			return n, io.EOF
		}
		k := copy(p[n:], c[i][off%ChunkSize:])
		n += k
		off += int64(k)
	}
	return n, nil
}

func dropUpload(tx *bolt.Tx, id uint64) error {
	if err := deleteChunks(tx, id); err != nil {
		return err
	}
	return tx.Bucket(bPending).Delete(binary.BigEndian.AppendUint64(nil, id))
}

// fill reads until buf is full or the stream ends; io.EOF only when the
// stream ended, any other error as the reader gave it.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		k, err := r.Read(buf[n:])
		n += k
		if err != nil {
			if err == io.EOF && n > 0 {
				return n, nil
			}
			return n, err
		}
	}
	return n, nil
}

// AllowLocationHeader is the request header with which a client keeps
// location metadata in an upload.
const AllowLocationHeader = "X-Hearth-Allow-Location"

// decideType compares the declared type with the sniffed one: a mismatch
// is refused, an unknown declared type takes the sniffed one, and media
// types must be recognisable.
func decideType(declared string, head []byte) (string, error) {
	declared = strings.ToLower(strings.TrimSpace(strings.Split(declared, ";")[0]))
	if declared == "image/jpg" {
		declared = "image/jpeg"
	}
	sniffed := Sniff(head)
	switch {
	case declared == "" || declared == "*/*" || declared == "application/octet-stream":
		if sniffed == "" {
			return "application/octet-stream", nil
		}
		return sniffed, nil
	case sniffed == "":
		if strings.HasPrefix(declared, "image/") || strings.HasPrefix(declared, "video/") {
			return "", fmt.Errorf("%w: declared %s, but the bytes are not a known %s format", ErrTypeMismatch, declared, strings.Split(declared, "/")[0])
		}
		return declared, nil
	case sniffed != declared:
		return "", fmt.Errorf("%w: declared %s, content is %s", ErrTypeMismatch, declared, sniffed)
	}
	return declared, nil
}

// Get returns the metadata of a blob owned by did.
func (s *Store) Get(did string, c cid.CID) (Meta, error) {
	var m Meta
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		m, err = getMeta(tx.Bolt(), did, c)
		return err
	})
	return m, err
}

func getMeta(tx *bolt.Tx, did string, c cid.CID) (Meta, error) {
	var o Owner
	if did != "" {
		raw := tx.Bucket(bOwners).Get(ownerKey(did, c))
		if raw == nil {
			return Meta{}, fmt.Errorf("%w: %s", ErrNotFound, c)
		}
		json.Unmarshal(raw, &o)
	}
	raw := tx.Bucket(bBlobs).Get(c.Bytes())
	if raw == nil {
		return Meta{}, fmt.Errorf("%w: %s", ErrNotFound, c)
	}
	var m Meta
	if err := json.Unmarshal(raw, &m); err != nil {
		return Meta{}, err
	}
	m.CID = c
	// Takedowns are per account; a flag left in Meta by an older version
	// still counts.
	m.TakenDown = m.TakenDown || o.TakenDown
	return m, nil
}

// Open returns a reader over a blob's bytes.
func (s *Store) Open(m Meta) *Reader { return &Reader{db: s.DB, id: m.ID, size: m.Size} }
