package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// The block journal. A commit's MST blocks are keyed by CID, a hash, so
// the nine put and nine deleted by a one-record write land on some twenty
// leaves scattered over the file, and each dirty leaf is a page to write
// and sync: half of a write's pages. Most of those blocks are the path to
// the newest record and are replaced by the very next commit.
//
// A Repo in journal mode (Repo.Journal) appends its block puts and deletes
// to the journal bucket instead, in order, under sequence keys: a commit's
// ops fill a leaf or two at the bucket's end. Every so often (flushOps or
// flushBytes) a commit also replays the journal into the blocks buckets
// and drops it, so blocks put and deleted between two flushes never reach
// a blocks bucket at all. The journal is in the same file and the same
// transactions, so nothing acknowledged depends on memory: Open replays
// what a crash left.
//
// New events go through the journal as well, and its replay appends them
// to the events bucket (events.go). Reads of blocks skip them, and pending
// holds no copy: readers of events scan their own snapshot's journal.
//
// Reads see the blocks bucket and the journal together:
//   - a write transaction, which sees the latest state, uses pending, the
//     DB's decoded copy of the journal, and its own staged ops;
//   - a read transaction uses pending too, as a cache: a block's bytes are
//     fixed by its CID, so a block pending holds that the snapshot does not
//     is still the right block. What pending has dropped since (a block
//     replaced after the snapshot, or flushed) the snapshot's own journal
//     still holds, so a miss scans it.

var bucketJournal = []byte("journal")

// When the journal is replayed: about 230 one-record commits. Fewer ops
// per replay cost more (a replay's fixed cost, and MST blocks that a longer
// window would have seen replaced); more made no difference in
// BenchmarkCreateRecord, and a read that misses scans the journal.
const (
	flushOps   = 4096
	flushBytes = 1 << 20
)

// Journal ops. An event's op carries its sequence number where a block's
// carries the CID, and the rest of its stored record (time ‖ frame) as the
// value: see events.go.
const (
	opPut    byte = 1
	opDelete byte = 2
	opEvent  byte = 3
)

// errJournal means a journal record could not be decoded.
var errJournal = errors.New("store: bad journal record")

// pending is the committed journal, decoded: the blocks it puts that no
// later op deleted, the blocks it deletes (which the blocks buckets may
// still hold until the flush), and its size.
type pending struct {
	mu     sync.RWMutex
	blocks map[string][]byte // blockKey → rev ‖ data
	gone   map[string]bool
	ops    int
	bytes  int
	// seq is the journal bucket's sequence that pending is decoded from. It
	// only grows (a replay adds one), so a read whose snapshot's journal has
	// the same sequence knows pending is exact for it and need not scan.
	seq   uint64
	scans atomic.Int64 // reads that scanned their snapshot's journal
}

// staged is one write transaction's journal ops, applied to pending when
// it commits.
type staged struct {
	blocks  map[string][]byte // blockKey → rev ‖ data, or nil: deleted
	ops     int
	bytes   int
	seq     uint64 // the journal bucket's sequence once this transaction is done, or 0
	flushed bool   // the journal was replayed in this transaction
	hooked  bool   // the commit handler is registered
	lastSeq int64  // the last sequence number this transaction issued, or 0
}

func blockKey(did string, cid []byte) string { return did + "\x00" + string(cid) }

// appendJournal encodes one op.
func appendJournal(dst []byte, op byte, did string, cid, value []byte) []byte {
	dst = append(dst, op)
	dst = binary.AppendUvarint(dst, uint64(len(did)))
	dst = append(dst, did...)
	dst = binary.AppendUvarint(dst, uint64(len(cid)))
	dst = append(dst, cid...)
	return append(dst, value...)
}

// decodeJournal splits one op; value aliases rec.
func decodeJournal(rec []byte) (op byte, did string, cid, value []byte, err error) {
	if len(rec) < 1 {
		return 0, "", nil, nil, errJournal
	}
	op, rec = rec[0], rec[1:]
	if op != opPut && op != opDelete && op != opEvent {
		return 0, "", nil, nil, fmt.Errorf("%w: op %d", errJournal, op)
	}
	field := func() ([]byte, bool) {
		n, k := binary.Uvarint(rec)
		// Lengths are minimal, as appendJournal writes them: one record has
		// one encoding.
		if k <= 0 || k != len(binary.AppendUvarint(nil, n)) || n > uint64(len(rec)-k) {
			return nil, false
		}
		f := rec[k : k+int(n)]
		rec = rec[k+int(n):]
		return f, true
	}
	d, ok1 := field()
	c, ok2 := field()
	if !ok1 || !ok2 || len(d) == 0 || len(c) == 0 {
		return 0, "", nil, nil, errJournal
	}
	if op == opPut && len(rec) < RevSize || op == opDelete && len(rec) != 0 ||
		op == opEvent && (len(c) != 8 || len(rec) < 8) {
		return 0, "", nil, nil, fmt.Errorf("%w: value of %d bytes for op %d", errJournal, len(rec), op)
	}
	return op, string(d), c, rec, nil
}

// journal appends an op of r's repository and stages it.
func (r *Repo) journal(op byte, cid, value []byte) error {
	n, err := r.tx.appendOp(op, r.did, cid, value)
	if err != nil {
		return fmt.Errorf("store: journal: %w", err)
	}
	st := r.tx.staged
	if op == opPut {
		st.blocks[blockKey(r.did, cid)] = value
	} else {
		st.blocks[blockKey(r.did, cid)] = nil
	}
	st.bytes += n
	return nil
}

// appendOp appends one op at the journal's end and stages its count,
// returning the record's size.
func (tx *Tx) appendOp(op byte, did string, key, value []byte) (int, error) {
	j := tx.btx.Bucket(bucketJournal)
	seq, err := j.NextSequence()
	if err != nil {
		return 0, err
	}
	j.FillPercent = 1 // appended in order
	rec := appendJournal(make([]byte, 0, 24+len(did)+len(key)+len(value)), op, did, key, value)
	if err := j.Put(seqKey(int64(seq)), rec); err != nil {
		return 0, err
	}
	st := tx.stage()
	st.seq = seq
	st.ops++
	return len(rec), nil
}

// stage returns tx's staged ops, registering the handler that applies
// them to pending once tx commits.
func (tx *Tx) stage() *staged {
	if tx.staged == nil {
		tx.staged = &staged{blocks: map[string][]byte{}}
	}
	if st := tx.staged; !st.hooked && tx.db != nil {
		st.hooked = true
		db := tx.db
		tx.btx.OnCommit(func() { db.committed(st) })
	}
	return tx.staged
}

// committed brings db up to a transaction that committed with st. It is
// registered at the transaction's first journal op or sequence number,
// before any handler that publishes one of its events, so those see db as
// of the whole transaction.
func (db *DB) committed(st *staged) {
	db.pending.apply(st)
	if st.lastSeq != 0 {
		db.lastSeq.Store(st.lastSeq)
	}
}

// apply brings pending up to a committed transaction.
func (p *pending) apply(st *staged) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st.flushed || p.blocks == nil {
		p.blocks, p.gone, p.ops, p.bytes = map[string][]byte{}, map[string]bool{}, 0, 0
	}
	for k, v := range st.blocks {
		if v != nil {
			p.blocks[k] = v
			delete(p.gone, k)
		} else {
			delete(p.blocks, k)
			p.gone[k] = true
		}
	}
	p.ops += st.ops
	p.bytes += st.bytes
	if st.seq != 0 {
		p.seq = st.seq
	}
}

// due reports whether the journal, with tx's ops, is long enough to replay.
func (tx *Tx) journalDue() bool {
	if tx.db == nil {
		return false
	}
	p := &tx.db.pending
	p.mu.RLock()
	ops, n := p.ops, p.bytes
	p.mu.RUnlock()
	if st := tx.staged; st != nil {
		if st.flushed {
			ops, n = 0, 0
		}
		ops, n = ops+st.ops, n+st.bytes
	}
	return ops >= flushOps || n >= flushBytes
}

// flushJournal replays the journal into the blocks buckets and empties it.
// Only each block's last op is applied: most blocks of a window are put
// and deleted again within it, and replaying both would rewrite a leaf
// for nothing (with 4096 ops, most of the repository's leaves).
func (tx *Tx) flushJournal() error {
	j := tx.btx.Bucket(bucketJournal)
	if j == nil {
		return nil
	}
	if k, _ := j.Cursor().First(); k == nil {
		return nil
	}
	type last struct {
		value   []byte // nil: deleted
		deleted bool   // a delete came before the last put
	}
	net := map[string]map[string]*last{}
	var events [][2][]byte // seq key, event record
	err := j.ForEach(func(k, v []byte) error {
		op, did, cid, value, err := decodeJournal(v)
		if err != nil {
			return fmt.Errorf("store: replay journal entry %x: %w", k, err)
		}
		if op == opEvent {
			events = append(events, [2][]byte{cid, eventRecord(did, value)})
			return nil
		}
		ops := net[did]
		if ops == nil {
			ops = map[string]*last{}
			net[did] = ops
		}
		l := ops[string(cid)]
		if l == nil {
			l = &last{}
			ops[string(cid)] = l
		}
		if op == opDelete {
			l.value, l.deleted = nil, true
		} else {
			l.value = value
		}
		return nil
	})
	if err != nil {
		return err
	}
	repos := tx.btx.Bucket(bucketRepos)
	for did, ops := range net {
		rb := repos.Bucket([]byte(did))
		if rb == nil {
			continue // the repository is gone
		}
		b := rb.Bucket(bucketBlocks)
		// In key order, so that the cursor walks the leaves once.
		for _, cid := range slices.Sorted(maps.Keys(ops)) {
			l := ops[cid]
			switch {
			case l.value == nil:
				err = b.Delete([]byte(cid))
			case l.deleted:
				// Put again after a delete: the later commit wrote it.
				err = b.Put([]byte(cid), l.value)
			case b.Get([]byte(cid)) == nil:
				err = b.Put([]byte(cid), l.value)
			}
			if err != nil {
				return fmt.Errorf("store: replay journal: %w", err)
			}
		}
	}
	// In order, at the bucket's end: FillPercent 1 packs the leaves full.
	eb := tx.btx.Bucket(bucketEvents)
	eb.FillPercent = 1
	for _, e := range events {
		if err := eb.Put(e[0], e[1]); err != nil {
			return fmt.Errorf("store: replay journal: %w", err)
		}
	}
	seq := j.Sequence() + 1 // the replay counts as an op: see pending.seq
	if err := tx.btx.DeleteBucket(bucketJournal); err != nil {
		return fmt.Errorf("store: drop journal: %w", err)
	}
	nj, err := tx.btx.CreateBucket(bucketJournal)
	if err == nil {
		err = nj.SetSequence(seq)
	}
	if err != nil {
		return fmt.Errorf("store: drop journal: %w", err)
	}
	st := tx.stage()
	st.blocks = map[string][]byte{}
	st.ops, st.bytes, st.flushed, st.seq = 0, 0, true, seq
	return nil
}

// journalNet is what the journal, as tx sees it, does to did's blocks:
// for each CID its last op's value, nil for a delete.
func (tx *Tx) journalNet(did string) (map[string][]byte, error) {
	j := tx.btx.Bucket(bucketJournal)
	if j == nil {
		return nil, nil
	}
	var net map[string][]byte
	err := j.ForEach(func(k, v []byte) error {
		op, d, cid, value, err := decodeJournal(v)
		if err != nil {
			return fmt.Errorf("store: journal entry %x: %w", k, err)
		}
		if d != did || op == opEvent {
			return nil
		}
		if net == nil {
			net = map[string][]byte{}
		}
		if op == opDelete {
			value = nil
		}
		net[string(cid)] = value
		return nil
	})
	return net, err
}

// journalFind returns the value (rev ‖ data) the last op of the journal
// of tx's snapshot gives did's cid, nil for a delete; found is false when
// the journal has no op for it.
func (tx *Tx) journalFind(did string, cid []byte) (value []byte, found bool) {
	j := tx.btx.Bucket(bucketJournal)
	if j == nil {
		return nil, false
	}
	c := j.Cursor()
	for k, v := c.Last(); k != nil; k, v = c.Prev() {
		op, d, ci, value, err := decodeJournal(v)
		if err != nil || op == opEvent || d != did || !bytes.Equal(ci, cid) {
			continue
		}
		if op == opDelete {
			return nil, true
		}
		return value, true
	}
	return nil, false
}

// get is the stored value (rev ‖ data) of a block, or nil.
func (r *Repo) get(cid []byte) []byte {
	tx := r.tx
	k := ""
	if st := tx.staged; st != nil {
		k = blockKey(r.did, cid)
		if v, ok := st.blocks[k]; ok {
			return v
		}
		if st.flushed {
			return r.blocks.Get(cid) // the blocks bucket is whole again
		}
	}
	if tx.db == nil {
		// A file opened outside Open: the snapshot's journal, then the bucket.
		if v, found := tx.journalFind(r.did, cid); found {
			return v
		}
		return r.blocks.Get(cid)
	}
	if k == "" {
		k = blockKey(r.did, cid)
	}
	p := &tx.db.pending
	p.mu.RLock()
	v, ok := p.blocks[k]
	gone := p.gone[k]
	// In a write, pending and the bucket are the whole state; in a read,
	// when pending was decoded from the snapshot's own journal.
	exact := tx.Writable() || tx.journalSeq() == p.seq
	p.mu.RUnlock()
	switch {
	case ok:
		// In a read this may be a block put after the snapshot began: its
		// bytes are fixed by its CID all the same.
		return v
	case gone && exact:
		return nil
	case gone:
		// Whether the delete is older than the snapshot, its journal says.
		p.scans.Add(1)
		if v, found := tx.journalFind(r.did, cid); found {
			return v
		}
	}
	if v := r.blocks.Get(cid); v != nil || exact {
		return v
	}
	// A read whose snapshot is not what pending holds: what pending has
	// dropped since, or not yet taken in, the snapshot's journal holds.
	p.scans.Add(1)
	v, _ = tx.journalFind(r.did, cid)
	return v
}

// journalSeq is the sequence of the journal tx sees.
func (tx *Tx) journalSeq() uint64 {
	if j := tx.btx.Bucket(bucketJournal); j != nil {
		return j.Sequence()
	}
	return 0
}

// Journal makes r's block writes go through the journal (see above). The
// repository writer uses it for commits; bulk writes (an import) stay
// direct.
func (r *Repo) Journal() *Repo {
	r.journaled = true
	return r
}

// direct prepares a direct write to the blocks bucket: the journal is
// replayed first, so that its older ops cannot undo the write later.
func (r *Repo) direct() error { return r.tx.flushJournal() }

// sortedNet returns the CIDs of net that put a block, in CID order.
func sortedNet(net map[string][]byte) []string {
	out := make([]string, 0, len(net))
	for k, v := range net {
		if v != nil {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
