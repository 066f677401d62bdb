package stream

import (
	"bytes"
	"fmt"
	"time"

	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/repo/car"
	"github.com/hearth-pds/hearth/repo/cid"
	"github.com/hearth-pds/hearth/repo/dagcbor"
	"github.com/hearth-pds/hearth/store"
)

type header struct {
	Op int64  `cbor:"op"`
	T  string `cbor:"t,omitempty"`
}

type repoOp struct {
	Action string   `cbor:"action"`
	Path   string   `cbor:"path"`
	CID    cid.CID  `cbor:"cid"` // zero encodes as null, as deletes need
	Prev   *cid.CID `cbor:"prev,omitempty"`
}

type commitBody struct {
	Seq      int64     `cbor:"seq"`
	Rebase   bool      `cbor:"rebase"`
	TooBig   bool      `cbor:"tooBig"`
	Repo     string    `cbor:"repo"`
	Commit   cid.CID   `cbor:"commit"`
	Rev      string    `cbor:"rev"`
	Since    *string   `cbor:"since"`
	Blocks   []byte    `cbor:"blocks"`
	Ops      []repoOp  `cbor:"ops"`
	Blobs    []cid.CID `cbor:"blobs"`
	PrevData *cid.CID  `cbor:"prevData,omitempty"`
	Time     string    `cbor:"time"`
}

type syncBody struct {
	Seq    int64  `cbor:"seq"`
	DID    string `cbor:"did"`
	Blocks []byte `cbor:"blocks"`
	Rev    string `cbor:"rev"`
	Time   string `cbor:"time"`
}

type identityBody struct {
	Seq    int64  `cbor:"seq"`
	DID    string `cbor:"did"`
	Time   string `cbor:"time"`
	Handle string `cbor:"handle,omitempty"`
}

type accountBody struct {
	Seq    int64  `cbor:"seq"`
	DID    string `cbor:"did"`
	Time   string `cbor:"time"`
	Active bool   `cbor:"active"`
	Status string `cbor:"status,omitempty"`
}

type infoBody struct {
	Name    string `cbor:"name"`
	Message string `cbor:"message,omitempty"`
}

type errorBody struct {
	Error   string `cbor:"error"`
	Message string `cbor:"message,omitempty"`
}

// Limits the relays enforce on #commit frames.
const (
	MaxCommitBlocks = 2 << 20
	MaxOps          = 200
)

func frame(h header, body any) ([]byte, error) {
	hb, err := dagcbor.Marshal(h)
	if err != nil {
		return nil, err
	}
	bb, err := dagcbor.Marshal(body)
	if err != nil {
		return nil, err
	}
	return append(append(make([]byte, 0, len(hb)+len(bb)), hb...), bb...), nil
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// Emitter appends events to the log. Once a transaction that appended
// events has landed, Publish is given each of their frames, in order, and
// then Notify is called once per event.
type Emitter struct {
	Publish func(seq int64, frame []byte)
	Notify  func()
	// Forget is called after a transaction that deleted events, so that
	// caches drop them.
	Forget func()
	Now    func() time.Time
}

// Remove deletes every event of did so far, in tx: a deleted account's
// data stops being replayed.
func (e *Emitter) Remove(tx *store.Tx, did string) error {
	if err := tx.DeleteEventsOf(did, tx.LastSeq()+1); err != nil {
		return fmt.Errorf("stream: delete events of %s: %w", did, err)
	}
	if e.Forget != nil {
		tx.OnCommit(e.Forget)
	}
	return nil
}

func (e *Emitter) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Emitter) append(tx *store.Tx, did string, encode func(seq int64) ([]byte, error)) error {
	var frame []byte
	seq, err := tx.AppendEvent(did, e.now(), func(seq int64) ([]byte, error) {
		f, err := encode(seq)
		frame = f
		return f, err
	})
	if err != nil {
		return err
	}
	if e.Publish != nil {
		tx.OnCommit(func() { e.Publish(seq, frame) })
	}
	if e.Notify != nil {
		tx.OnCommit(e.Notify)
	}
	return nil
}

// Commit appends a #commit event for c. A commit whose blocks or ops are
// over the relay limits is announced as a #sync instead (tooBig is never
// sent: relays reject it).
func (e *Emitter) Commit(tx *store.Tx, c *repo.Commit) error {
	// Sized up front: grown as it went, the buffer was copied four or five
	// times for every commit.
	size := 64
	for _, b := range c.Blocks {
		size += len(b.Data) + 48 // a section's length varint and CID
	}
	var buf bytes.Buffer
	buf.Grow(size)
	if err := repo.WriteCommitCAR(&buf, c); err != nil {
		return fmt.Errorf("stream: commit CAR: %w", err)
	}
	if buf.Len() > MaxCommitBlocks || len(c.Ops) > MaxOps {
		return e.Sync(tx, c.DID, c.CID, c.Blocks[0].Data, c.Rev)
	}
	ops := make([]repoOp, len(c.Ops))
	for i, op := range c.Ops {
		ops[i] = repoOp{Action: string(op.Action), Path: op.Path, CID: op.CID}
		if op.Prev.Defined() {
			p := op.Prev
			ops[i].Prev = &p
		}
	}
	body := commitBody{
		Repo: c.DID, Commit: c.CID, Rev: c.Rev, Blocks: buf.Bytes(), Ops: ops,
		Blobs: []cid.CID{}, Time: stamp(e.now()),
	}
	if c.Since != "" {
		s := c.Since
		body.Since = &s
	}
	if c.PrevData.Defined() {
		p := c.PrevData
		body.PrevData = &p
	}
	return e.append(tx, c.DID, func(seq int64) ([]byte, error) {
		body.Seq = seq
		return frame(header{Op: 1, T: "#commit"}, body)
	})
}

// Sync appends a #sync event: the repo's whole state is now the commit.
func (e *Emitter) Sync(tx *store.Tx, did string, commit cid.CID, commitBlock []byte, rev string) error {
	var buf bytes.Buffer
	cw, err := car.NewWriter(&buf, commit)
	if err != nil {
		return err
	}
	if err := cw.WriteBlock(commit, commitBlock); err != nil {
		return err
	}
	if err := cw.Flush(); err != nil {
		return err
	}
	body := syncBody{DID: did, Blocks: buf.Bytes(), Rev: rev, Time: stamp(e.now())}
	return e.append(tx, did, func(seq int64) ([]byte, error) {
		body.Seq = seq
		return frame(header{Op: 1, T: "#sync"}, body)
	})
}

// Identity appends an #identity event.
func (e *Emitter) Identity(tx *store.Tx, did, handle string) error {
	body := identityBody{DID: did, Handle: handle, Time: stamp(e.now())}
	return e.append(tx, did, func(seq int64) ([]byte, error) {
		body.Seq = seq
		return frame(header{Op: 1, T: "#identity"}, body)
	})
}

// Account appends an #account event; status is "" when active.
func (e *Emitter) Account(tx *store.Tx, did string, active bool, status string) error {
	body := accountBody{DID: did, Active: active, Status: status, Time: stamp(e.now())}
	return e.append(tx, did, func(seq int64) ([]byte, error) {
		body.Seq = seq
		return frame(header{Op: 1, T: "#account"}, body)
	})
}

func infoFrame(name, msg string) []byte {
	b, _ := frame(header{Op: 1, T: "#info"}, infoBody{Name: name, Message: msg})
	return b
}

func errorFrame(name, msg string) []byte {
	b, _ := frame(header{Op: -1}, errorBody{Error: name, Message: msg})
	return b
}
