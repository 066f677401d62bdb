package store

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Sentinel errors callers branch on.
var (
	ErrNotFound = errors.New("store: not found")
	ErrExists   = errors.New("store: already exists")
	ErrClosed   = errors.New("store: closed")
	// ErrStop ends a scan early without error.
	ErrStop = errors.New("store: stop")
)

var (
	bucketMeta  = []byte("meta")
	bucketRepos = []byte("repos")
)

// Options tune Open. The zero value is a safe default.
type Options struct {
	// NoSync skips fsync on commit. Only for benchmarks and throwaway tests:
	// an acknowledged write could be lost on power failure.
	NoSync bool
	// MaxBatch caps how many Update calls share one transaction.
	MaxBatch int
	// InitialMmapSize is passed to bbolt. On 32-bit ARM the address space
	// limits the map to about 2 GiB, which bounds the file size there.
	InitialMmapSize int
	Logger          *slog.Logger
}

// DB is an open Hearth data file.
type DB struct {
	bolt *bolt.DB
	log  *slog.Logger
	max  int

	// mu orders Close after any Update that has started: Close waits for
	// inflight, and no Update starts once isClosed is set.
	mu       sync.RWMutex
	isClosed bool
	inflight sync.WaitGroup

	group   group   // the calls waiting for a transaction (group.go)
	reserve reserve // disk blocks ahead of the file's end (reserve_linux.go)

	accounts accountCache
	pending  pending // the block journal, decoded (journal.go)
	lastSeq  atomic.Int64
}

// Open opens (creating if needed) the bbolt file at path.
func Open(path string, opts Options) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create folder: %w", err)
	}
	var file *os.File
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:         2 * time.Second, // another process holds the lock: fail, don't hang
		NoSync:          opts.NoSync,
		InitialMmapSize: opts.InitialMmapSize,
		FreelistType:    bolt.FreelistMapType,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, perm)
			file = f
			return f, err
		},
	})
	if err != nil {
		if err = inUse(path, err); errors.Is(err, ErrInUse) {
			return nil, err
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	writePID(path)
	var journalSeq uint64
	var lastSeq int64
	err = bdb.Update(func(tx *bolt.Tx) error {
		for _, name := range topBuckets() {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		// What a crash left in the block journal goes where it belongs.
		t := &Tx{btx: tx}
		if err := t.flushJournal(); err != nil {
			return err
		}
		journalSeq = t.journalSeq()
		if err := t.SeqFloor(time.Now().UnixMilli()); err != nil {
			return err
		}
		lastSeq = t.LastSeq()
		return nil
	})
	if err != nil {
		bdb.Close()
		removePID(path)
		return nil, fmt.Errorf("store: create buckets: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	max := opts.MaxBatch
	if max <= 0 {
		max = 256
	}
	db := &DB{
		bolt:    bdb,
		log:     log,
		max:     max,
		reserve: reserve{file: file},
		// The journal was just replayed, so pending, empty, is exact for it.
		pending: pending{seq: journalSeq},
	}
	db.lastSeq.Store(lastSeq)
	return db, nil
}

// Close waits for queued updates to finish, then closes the file.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.isClosed {
		db.mu.Unlock()
		return nil
	}
	db.isClosed = true
	db.mu.Unlock()
	db.inflight.Wait()
	defer removePID(db.bolt.Path())
	// A closed file has no journal, so that read-only tools and older
	// builds read every block where it belongs.
	if err := db.bolt.Update(func(btx *bolt.Tx) error { return (&Tx{btx: btx}).flushJournal() }); err != nil {
		db.log.Error("store: replay the block journal at close", "err", err)
	}
	return db.bolt.Close()
}

// LastSeq returns the last sequence number issued by a committed
// transaction, without opening one. It is set before the transaction's
// commit handlers run, so a handler publishing one of several events
// already sees the last: a subscriber woken by the first knows how far
// behind it is.
func (db *DB) LastSeq() int64 { return db.lastSeq.Load() }

// Path returns the file's path.
func (db *DB) Path() string { return db.bolt.Path() }

// Bolt exposes the underlying database for whole-file tasks (backup, stats).
func (db *DB) Bolt() *bolt.DB { return db.bolt }

// View runs fn in a read-only transaction. Keep it short: a long read
// transaction pins old pages and makes the file grow.
func (db *DB) View(fn func(*Tx) error) error {
	return db.bolt.View(func(btx *bolt.Tx) error { return fn(&Tx{btx: btx, accounts: &db.accounts, db: db}) })
}

// Tx is a transaction. Byte slices it returns are valid only until the
// transaction ends; copy what must outlive it.
type Tx struct {
	btx      *bolt.Tx
	accounts *accountCache // nil for a file opened outside Open
	db       *DB           // nil for a file opened outside Open
	staged   *staged       // this write's block journal ops
}

// Writable reports whether tx may write.
func (tx *Tx) Writable() bool { return tx.btx.Writable() }

// Bolt exposes the bbolt transaction for packages that own buckets of
// their own layout (declared in this package's doc and buckets list).
func (tx *Tx) Bolt() *bolt.Tx { return tx.btx }

// OnCommit registers fn to run after the transaction commits successfully.
// Used to wake event subscribers only for changes that really landed.
func (tx *Tx) OnCommit(fn func()) { tx.btx.OnCommit(fn) }

// Meta returns the value stored under name in the meta bucket, or nil.
func (tx *Tx) Meta(name string) []byte {
	return tx.btx.Bucket(bucketMeta).Get([]byte(name))
}

// SetMeta stores value under name in the meta bucket.
func (tx *Tx) SetMeta(name string, value []byte) error {
	return tx.btx.Bucket(bucketMeta).Put([]byte(name), value)
}

// topBuckets are the top-level buckets, all created at Open.
func topBuckets() [][]byte {
	return append([][]byte{bucketMeta, bucketRepos, bucketAccounts, bucketHandles, bucketEmails,
		bucketRefresh, bucketAppPass, bucketInvites, bucketEvents, bucketPrefs, bucketTokens, bucketSubjects,
		[]byte("blobs"), []byte("blobchunks"), []byte("blobowners"), []byte("blobpending"), []byte("blobmissing"), bucketOutbox, bucketMoves, bucketCerts, bucketPLC, bucketJournal, bucketLastSeq},
		oauthBuckets()...)
}

// DeleteMeta removes name from the meta bucket.
func (tx *Tx) DeleteMeta(name string) error {
	return tx.btx.Bucket(bucketMeta).Delete([]byte(name))
}

// ViewBolt runs fn in a read-only transaction of a bbolt file opened by
// the caller (a backup or a closed data file, opened read-only).
func ViewBolt(bdb *bolt.DB, fn func(*Tx) error) error {
	return bdb.View(func(btx *bolt.Tx) error { return fn(&Tx{btx: btx}) })
}
