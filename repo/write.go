package repo

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/repo/dagcbor"
	"github.com/hearth-pds/hearth/repo/mst"
	"github.com/hearth-pds/hearth/repo/syntax"
	"github.com/hearth-pds/hearth/store"
)

// Action is what an operation does to a record.
type Action string

// Actions, named as in the firehose.
const (
	Create Action = "create"
	Update Action = "update"
	Delete Action = "delete"
)

// MaxRecordSize bounds one record block, as the reference PDS does.
const MaxRecordSize = 1 << 20

// Sentinel errors callers map to XRPC errors.
var (
	ErrRepoNotFound   = errors.New("repo: repository not found")
	ErrRepoExists     = errors.New("repo: repository already exists")
	ErrRecordExists   = errors.New("repo: record already exists")
	ErrRecordNotFound = errors.New("repo: record not found")
	ErrSwapMismatch   = errors.New("repo: swap did not match")
	ErrInvalidOp      = errors.New("repo: invalid operation")
)

// Op is one record operation of a write.
type Op struct {
	Action     Action
	Collection string
	RKey       string
	// Record is the DAG-CBOR record for Create and Update. The caller has
	// validated it against its lexicon; it is checked here to be strict
	// DAG-CBOR.
	Record []byte
	// SwapRecord, when non-nil, must equal the record's current CID (the
	// zero CID meaning "must not exist") or the whole write fails.
	SwapRecord *cid.CID
}

// Path is the MST key of the op's record.
func (o Op) Path() string { return o.Collection + "/" + o.RKey }

// OpResult is an applied operation as the firehose reports it.
type OpResult struct {
	Action Action
	Path   string
	CID    cid.CID // new record CID; zero for deletes
	Prev   cid.CID // previous record CID; zero for creates
}

// Block is a CID and its bytes.
type Block = mst.Block

// Commit describes one landed commit: everything the event stream and the
// XRPC responses need.
type Commit struct {
	DID      string
	CID      cid.CID // the commit block
	Rev      string
	Since    string  // rev of the previous commit; "" for the first
	Data     cid.CID // new MST root
	PrevData cid.CID // MST root before the commit; zero for the first
	Ops      []OpResult
	// Blocks are the commit block, every new MST node and record, and the
	// unchanged MST nodes of the covering proof: a consumer holding the
	// previous state can verify the commit and invert every op from these.
	Blocks []Block
	// Removed are the CIDs the commit made unreachable; they have been
	// deleted from the store.
	Removed []cid.CID
	// Unchanged reports a write whose ops left every record as it was
	// (a put of identical content). No commit was made: CID and Rev are
	// the current head, Blocks and Removed are empty, and there is
	// nothing to tell the firehose.
	Unchanged bool
}

// Writer applies writes for the repositories in one store. It holds the
// clock that makes revs monotonic across all repos of the process.
type Writer struct {
	Clock *syntax.TIDClock
	// Nodes, if set, keeps decoded MST nodes between writes (see mst.Cache).
	Nodes *mst.Cache

	// roots maps the commits this Writer signed to their data roots, so
	// that the next write on a repository need not decode and re-encode
	// its head commit. A commit's CID fixes its content, so an entry is
	// right even when its transaction was rolled back.
	mu    sync.Mutex
	roots map[cid.CID]cid.CID
}

// maxRoots bounds Writer.roots: one entry per repository written lately.
const maxRoots = 256

// rootOf returns the data root of commit head; block reads its block,
// which a remembered root does not need.
func (w *Writer) rootOf(head cid.CID, block func() []byte) (cid.CID, error) {
	w.mu.Lock()
	data, ok := w.roots[head]
	w.mu.Unlock()
	if ok {
		return data, nil
	}
	sc, err := DecodeCommit(block())
	if err != nil {
		return cid.CID{}, err
	}
	w.remember(head, sc.Data)
	return sc.Data, nil
}

func (w *Writer) remember(commit, data cid.CID) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.roots == nil || len(w.roots) >= maxRoots {
		w.roots = make(map[cid.CID]cid.CID)
	}
	w.roots[commit] = data
}

// storeGetter reads blocks of one repository inside a transaction.
type storeGetter struct{ r *store.Repo }

func (g storeGetter) GetBlock(c cid.CID) ([]byte, error) {
	b := g.r.Block(c.Bytes())
	if b == nil {
		return nil, fmt.Errorf("%w: %s", mst.ErrMissingBlock, c)
	}
	return b, nil
}

// Create makes a new repository for did with an empty tree and its first
// signed commit.
func (w *Writer) Create(tx *store.Tx, did string, key Signer) (*Commit, error) {
	r, err := tx.CreateRepo(did)
	if errors.Is(err, store.ErrExists) {
		return nil, fmt.Errorf("%w: %s", ErrRepoExists, did)
	}
	if err != nil {
		return nil, err
	}
	return w.apply(r, did, key, nil, nil, true)
}

// Apply applies ops to the repository of did as one signed commit. With
// swapCommit non-nil the current commit must be that CID. On any error
// nothing is written; the caller's transaction should be rolled back.
// Ops that change nothing make no commit, as in the reference PDS: the
// result is the head, marked Unchanged, and nothing is written.
func (w *Writer) Apply(tx *store.Tx, did string, key Signer, ops []Op, swapCommit *cid.CID) (*Commit, error) {
	r, err := tx.Repo(did)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrRepoNotFound, did)
	}
	if err != nil {
		return nil, err
	}
	// A commit's blocks go through the store's journal: most of them are
	// the newest path of the tree, replaced by the next commit.
	return w.apply(r.Journal(), did, key, ops, swapCommit, false)
}

func (w *Writer) apply(r *store.Repo, did string, key Signer, ops []Op, swapCommit *cid.CID, fresh bool) (*Commit, error) {
	c := &Commit{DID: did}
	tree, prevCommit, err := w.open(r, c, swapCommit, fresh)
	if err != nil {
		return nil, err
	}
	newRecords, err := c.applyOps(tree, ops)
	if err != nil {
		return nil, err
	}
	data, added, removed, err := tree.Commit()
	if err != nil {
		return nil, fmt.Errorf("repo %s: mst: %w", did, err)
	}
	c.Data = data
	if !fresh && len(ops) > 0 && data == c.PrevData {
		// Same root, same records: a new commit would only churn the
		// firehose and the rev. Nothing has been stored yet.
		c.CID, c.Rev, c.Unchanged = prevCommit, c.Since, true
		return c, nil
	}
	c.Rev = string(w.Clock.NextAfter(syntax.TID(c.Since)))
	_, commitBytes, commitCID, err := SignCommit(did, data, c.Rev, key)
	if err != nil {
		return nil, err
	}
	c.CID = commitCID
	w.remember(commitCID, data)
	if err := c.collectBlocks(tree, Block{CID: commitCID, Data: commitBytes}, added, newRecords); err != nil {
		return nil, err
	}
	if prevCommit.Defined() {
		removed = append(removed, prevCommit)
	}
	if err := c.save(r, removed); err != nil {
		return nil, err
	}
	return c, nil
}

// open loads the tree a commit on r starts from, and the head commit it
// replaces (zero for a fresh repository), filling c's Since and PrevData.
func (w *Writer) open(r *store.Repo, c *Commit, swapCommit *cid.CID, fresh bool) (*mst.Tree, cid.CID, error) {
	g := storeGetter{r}
	if fresh {
		return mst.New(g), cid.CID{}, nil
	}
	head, rev := r.Head()
	pc, err := cid.Decode(head)
	if err != nil {
		return nil, cid.CID{}, fmt.Errorf("repo %s: head: %w", c.DID, err)
	}
	if swapCommit != nil && *swapCommit != pc {
		return nil, cid.CID{}, fmt.Errorf("%w: commit is %s, not %s", ErrSwapMismatch, pc, *swapCommit)
	}
	data, err := w.rootOf(pc, func() []byte { return r.Block(head) })
	if err != nil {
		return nil, cid.CID{}, fmt.Errorf("repo %s: load commit %s: %w", c.DID, pc, err)
	}
	c.Since, c.PrevData = rev, data
	return mst.Load(g, data).UseCache(w.Nodes), pc, nil
}

// applyOps makes ops' changes to tree, in order, recording each in c.Ops,
// and returns the new record blocks by CID.
func (c *Commit) applyOps(tree *mst.Tree, ops []Op) (map[cid.CID][]byte, error) {
	newRecords := map[cid.CID][]byte{}
	seen := map[string]bool{}
	for _, op := range ops {
		path := op.Path()
		if seen[path] {
			return nil, fmt.Errorf("%w: %s is written twice in one commit", ErrInvalidOp, path)
		}
		seen[path] = true
		res := OpResult{Action: op.Action, Path: path}
		cur, err := tree.Get(path)
		if err != nil && !errors.Is(err, mst.ErrNotFound) {
			return nil, fmt.Errorf("repo %s: read %s: %w", c.DID, path, err)
		}
		if op.SwapRecord != nil && *op.SwapRecord != cur {
			return nil, fmt.Errorf("%w: record %s is %v, not %v", ErrSwapMismatch, path, cur, *op.SwapRecord)
		}
		switch op.Action {
		case Create, Update:
			if op.Action == Create && cur.Defined() {
				return nil, fmt.Errorf("%w: %s", ErrRecordExists, path)
			}
			if op.Action == Update && !cur.Defined() {
				return nil, fmt.Errorf("%w: %s", ErrRecordNotFound, path)
			}
			if len(op.Record) > MaxRecordSize {
				return nil, fmt.Errorf("%w: record %s is %d bytes, over %d", ErrInvalidOp, path, len(op.Record), MaxRecordSize)
			}
			if err := dagcbor.Validate(op.Record); err != nil {
				return nil, fmt.Errorf("%w: record %s: %v", ErrInvalidOp, path, err)
			}
			rc := cid.Sum(cid.DagCBOR, op.Record)
			newRecords[rc] = op.Record
			if _, err := tree.Put(path, rc); err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrInvalidOp, path, err)
			}
			res.CID, res.Prev = rc, cur
		case Delete:
			if !cur.Defined() {
				return nil, fmt.Errorf("%w: %s", ErrRecordNotFound, path)
			}
			if _, err := tree.Delete(path); err != nil {
				return nil, fmt.Errorf("repo %s: delete %s: %w", c.DID, path, err)
			}
			res.Prev = cur
		default:
			return nil, fmt.Errorf("%w: action %q", ErrInvalidOp, op.Action)
		}
		c.Ops = append(c.Ops, res)
	}
	return newRecords, nil
}

// collectBlocks fills c.Blocks, once each: the commit, the new MST nodes,
// the new records and the covering proof of the ops' paths.
func (c *Commit) collectBlocks(tree *mst.Tree, commit Block, added []Block, newRecords map[cid.CID][]byte) error {
	inEvent := map[cid.CID]bool{}
	add := func(b Block) {
		if !inEvent[b.CID] {
			inEvent[b.CID] = true
			c.Blocks = append(c.Blocks, b)
		}
	}
	add(commit)
	for _, b := range added {
		add(b)
	}
	for _, op := range c.Ops {
		if op.CID.Defined() {
			add(Block{CID: op.CID, Data: newRecords[op.CID]})
		}
	}
	if len(c.Ops) == 0 {
		return nil
	}
	paths := make([]string, 0, len(c.Ops))
	for _, op := range c.Ops {
		paths = append(paths, op.Path)
	}
	proof, err := tree.CoveringProof(paths)
	if err != nil {
		return fmt.Errorf("repo %s: covering proof: %w", c.DID, err)
	}
	for _, b := range proof {
		add(b)
	}
	return nil
}

// save writes the commit to r: its blocks, the record index, reference
// counts, the deletion of removed (and of record blocks no longer
// referenced), and the head. It sets c.Removed.
//
// Reference counts are read before the new blocks land (a stored record
// block without a count has one), summed over the ops, and written after;
// blocks are stored before deletions, so a CID that is both dropped and
// re-added in one commit survives.
func (c *Commit) save(r *store.Repo, removed []cid.CID) error {
	refs := map[cid.CID]int{}
	count := func(k cid.CID) int {
		n, ok := refs[k]
		if !ok {
			n = r.Refs(k.Bytes())
		}
		return n
	}
	for _, op := range c.Ops {
		if op.CID.Defined() {
			refs[op.CID] = count(op.CID) + 1
		}
	}
	for _, op := range c.Ops {
		if op.Prev.Defined() {
			refs[op.Prev] = count(op.Prev) - 1
		}
	}
	for _, b := range c.Blocks {
		if err := r.PutBlock(b.CID.Bytes(), c.Rev, b.Data); err != nil {
			return fmt.Errorf("repo %s: store block: %w", c.DID, err)
		}
	}
	for _, op := range c.Ops {
		if op.CID.Defined() {
			if err := r.PutRecord(op.Path, op.CID.Bytes()); err != nil {
				return err
			}
		} else if err := r.DeleteRecord(op.Path); err != nil {
			return err
		}
	}
	// Counts are written in op order, each once; a record block whose
	// count reaches zero is dropped.
	for _, op := range c.Ops {
		for _, k := range [2]cid.CID{op.CID, op.Prev} {
			n, ok := refs[k]
			if !ok {
				continue
			}
			delete(refs, k)
			if err := r.SetRefs(k.Bytes(), n); err != nil {
				return fmt.Errorf("repo %s: %w", c.DID, err)
			}
			if n == 0 {
				removed = append(removed, k)
			}
		}
	}
	for _, rc := range removed {
		if err := r.DeleteBlock(rc.Bytes()); err != nil {
			return fmt.Errorf("repo %s: delete block: %w", c.DID, err)
		}
	}
	slices.SortFunc(removed, cid.CID.Compare)
	c.Removed = removed
	return r.SetHead(c.CID.Bytes(), c.Rev)
}
