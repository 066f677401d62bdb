package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
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

func chunkKey(id uint64, n uint32) []byte {
	k := binary.BigEndian.AppendUint64(nil, id)
	return binary.BigEndian.AppendUint32(k, n)
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
func (s *Store) Upload(ctx context.Context, did string, r io.Reader, opts UploadOptions) (Meta, error) {
	var id uint64
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		var err error
		if id, err = tx.Bolt().Bucket(bChunks).NextSequence(); err != nil {
			return err
		}
		return tx.Bolt().Bucket(bPending).Put(binary.BigEndian.AppendUint64(nil, id), binary.BigEndian.AppendUint64(nil, uint64(s.now().Unix())))
	})
	if err != nil {
		return Meta{}, err
	}
	m, err := s.upload(ctx, id, did, r, opts)
	if err != nil {
		// Drop what was written; the sweeper would otherwise do it later.
		s.DB.Update(context.Background(), func(tx *store.Tx) error { return dropUpload(tx.Bolt(), id) })
	}
	return m, err
}

func dropUpload(tx *bolt.Tx, id uint64) error {
	if err := deleteChunks(tx, id); err != nil {
		return err
	}
	return tx.Bucket(bPending).Delete(binary.BigEndian.AppendUint64(nil, id))
}

func deleteChunks(tx *bolt.Tx, id uint64) error {
	prefix := binary.BigEndian.AppendUint64(nil, id)
	c := tx.Bucket(bChunks).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) upload(ctx context.Context, id uint64, did string, r io.Reader, opts UploadOptions) (Meta, error) {
	h := sha256.New()
	var size int64
	var head []byte
	var n uint32
	buf := make([]byte, ChunkSize)
	batch := make([][]byte, 0, batchChunks)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		first := n - uint32(len(batch))
		err := s.DB.Update(ctx, func(tx *store.Tx) error {
			b := tx.Bolt().Bucket(bChunks)
			for i, c := range batch {
				if err := b.Put(chunkKey(id, first+uint32(i)), c); err != nil {
					return err
				}
			}
			return nil
		})
		batch = batch[:0]
		return err
	}
	for {
		k, err := fill(r, buf)
		if k > 0 {
			size += int64(k)
			if size > s.limit() {
				return Meta{}, fmt.Errorf("%w: over %d bytes", ErrTooLarge, s.limit())
			}
			h.Write(buf[:k])
			if head == nil {
				head = bytes.Clone(buf[:min(k, 4096)])
			}
			batch = append(batch, bytes.Clone(buf[:k]))
			n++
			if len(batch) == batchChunks {
				if err := flush(); err != nil {
					return Meta{}, err
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			// A body that ends early (io.ErrUnexpectedEOF from net/http) is
			// a failed upload, not a short blob.
			return Meta{}, fmt.Errorf("%w: upload cut short: %v", ErrTruncated, err)
		}
	}
	if err := flush(); err != nil {
		return Meta{}, err
	}
	if size == 0 {
		return Meta{}, fmt.Errorf("%w: empty upload", ErrTypeMismatch)
	}
	mime, err := decideType(opts.MimeType, head)
	if err != nil {
		return Meta{}, err
	}
	c, _ := cid.FromDigest(cid.Raw, h.Sum(nil))
	m := Meta{CID: c, ID: id, Size: size, MimeType: mime, CreatedAt: s.now().UTC()}
	if !opts.AllowLocation {
		where, err := FindLocation(&Reader{db: s.DB, id: id, size: size}, size)
		if err != nil {
			return Meta{}, err
		}
		if where != "" {
			return Meta{}, fmt.Errorf("%w (%s); remove it, or upload with the header %s: true to keep it", ErrLocation, where, AllowLocationHeader)
		}
	}
	err = s.DB.Update(ctx, func(tx *store.Tx) error {
		bt := tx.Bolt()
		if old := bt.Bucket(bBlobs).Get(c.Bytes()); old != nil {
			// The same bytes are already held: keep one copy.
			var om Meta
			if err := json.Unmarshal(old, &om); err != nil {
				return err
			}
			if err := dropUpload(bt, id); err != nil {
				return err
			}
			om.CID = c
			m = om
		} else {
			raw, _ := json.Marshal(m)
			if err := bt.Bucket(bBlobs).Put(c.Bytes(), raw); err != nil {
				return err
			}
			if err := bt.Bucket(bPending).Delete(binary.BigEndian.AppendUint64(nil, id)); err != nil {
				return err
			}
		}
		ob := bt.Bucket(bOwners)
		if ob.Get(ownerKey(did, c)) == nil {
			// A blob the account's imported records already use is
			// referenced from the start; any other waits for a record.
			refs, err := takeMissing(tx, did, c)
			if err != nil {
				return err
			}
			o := Owner{Temp: refs == 0, Refs: refs, CreatedAt: s.now().UTC()}
			raw, _ := json.Marshal(o)
			return ob.Put(ownerKey(did, c), raw)
		}
		return nil
	})
	return m, err
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
			chunk := b.Get(chunkKey(r.id, idx))
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
