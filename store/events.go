package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"
)

var (
	bucketEvents = []byte("events") // seq (8 bytes, big-endian) → event record
	// bucketLastSeq is empty: its sequence is the last number issued. An
	// empty bucket is kept inline in its parent's page, here the root
	// page, which every write transaction rewrites anyway, so issuing a
	// number costs no page. The events bucket's own sequence held it
	// before, and SetSequence on it rewrites that bucket's root page.
	bucketLastSeq = []byte("lastseq")
	// keySeq in meta was the last sequence number issued, before it moved
	// to the events bucket's own sequence and then to lastseq's. A file
	// from before still has them, so the last number is the largest.
	keySeq    = "seq"
	keyPruned = "pruned-seq" // meta: last sequence number pruned by retention
)

// An event record is uvarint(len(did)) ‖ did ‖ time (8 bytes, unix ns) ‖
// frame. The frame is the encoded firehose message, ready to send.
//
// A new event goes to the block journal (journal.go) as an opEvent op, and
// the journal's replay moves it to the events bucket with the rest. Put
// straight into the events bucket, each event rewrote that bucket's last
// leaf, which holds two to four frames of a few KB (bbolt does not split a
// leaf of four keys or fewer), and the two branch pages above it: some
// 10 KB and three pages per write, written again by the next. In the
// journal the frame is a few KB more on the leaf the commit's block ops
// dirty anyway. Readers so see the events bucket, then the journal's
// events, which are all newer.

func eventRecord(did string, rest []byte) []byte {
	v := binary.AppendUvarint(make([]byte, 0, 10+len(did)+len(rest)), uint64(len(did)))
	v = append(v, did...)
	return append(v, rest...)
}

// SeqFloor raises the last issued sequence number to at least floor.
// Open calls it with the current time in milliseconds, so that numbers keep
// increasing even after a restore from an older backup or a reinstall:
// relays treat a counter that goes back as a desync.
func (tx *Tx) SeqFloor(floor int64) error {
	if tx.LastSeq() >= floor {
		return nil
	}
	return tx.setLastSeq(floor)
}

func (tx *Tx) setLastSeq(seq int64) error {
	b, err := tx.btx.CreateBucketIfNotExists(bucketLastSeq)
	if err != nil {
		return fmt.Errorf("store: last sequence: %w", err)
	}
	if err := b.SetSequence(uint64(seq)); err != nil {
		return fmt.Errorf("store: last sequence: %w", err)
	}
	tx.stage().lastSeq = seq
	return nil
}

// LastSeq returns the last sequence number issued (0 if none).
func (tx *Tx) LastSeq() int64 {
	last := int64(tx.btx.Bucket(bucketEvents).Sequence())
	if b := tx.btx.Bucket(bucketLastSeq); b != nil {
		last = max(last, int64(b.Sequence()))
	}
	if v := tx.Meta(keySeq); len(v) == 8 {
		last = max(last, int64(binary.BigEndian.Uint64(v)))
	}
	return last
}

// AppendEvent gives the next sequence number to encode, which builds the
// frame for it, and appends the event in this transaction.
func (tx *Tx) AppendEvent(did string, at time.Time, encode func(seq int64) ([]byte, error)) (int64, error) {
	seq := tx.LastSeq() + 1
	frame, err := encode(seq)
	if err != nil {
		return 0, fmt.Errorf("store: encode event %d: %w", seq, err)
	}
	rest := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(frame)), uint64(at.UnixNano()))
	rest = append(rest, frame...)
	if err := tx.journalEvent(did, seq, rest); err != nil {
		return 0, err
	}
	if err := tx.setLastSeq(seq); err != nil {
		return 0, err
	}
	return seq, nil
}

// journalEvent appends event seq (rest is time ‖ frame) to the journal.
func (tx *Tx) journalEvent(did string, seq int64, rest []byte) error {
	// Counted as an op but not in the journal's bytes, so that frames do
	// not bring the replay sooner than the blocks alone would.
	if _, err := tx.appendOp(opEvent, did, seqKey(seq), rest); err != nil {
		return fmt.Errorf("store: journal event %d: %w", seq, err)
	}
	return nil
}

// journalEvents calls fn for the journal's events with seq > after, in
// order; stop reports that fn asked to stop.
func (tx *Tx) journalEvents(after int64, fn func(Event) error) (stop bool, err error) {
	j := tx.btx.Bucket(bucketJournal)
	if j == nil {
		return false, nil
	}
	c := j.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(v) == 0 || v[0] != opEvent {
			continue
		}
		_, did, sk, rest, err := decodeJournal(v)
		if err != nil {
			return false, fmt.Errorf("store: journal entry %x: %w", k, err)
		}
		ev := eventOf(sk, did, rest)
		if ev.Seq <= after {
			continue
		}
		if err := fn(ev); err != nil {
			return true, err
		}
	}
	return false, nil
}

func seqKey(seq int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(seq)) }

// Event is a stored event. Frame is valid only inside the transaction.
type Event struct {
	Seq   int64
	DID   string
	Time  time.Time
	Frame []byte
}

func decodeEvent(k, v []byte) (Event, error) {
	n, w := binary.Uvarint(v)
	if w <= 0 || int(n) > len(v)-w-8 {
		return Event{}, fmt.Errorf("store: corrupt event %x", k)
	}
	return eventOf(k, string(v[w:w+int(n)]), v[w+int(n):]), nil
}

// eventOf is the event of key k (its seq) whose record, after the did, is
// rest: time ‖ frame, at least 8 bytes.
func eventOf(k []byte, did string, rest []byte) Event {
	return Event{
		Seq:   int64(binary.BigEndian.Uint64(k)),
		DID:   did,
		Time:  time.Unix(0, int64(binary.BigEndian.Uint64(rest[:8]))),
		Frame: rest[8:],
	}
}

// Events calls fn for events with seq > after in order, until fn returns an
// error (ErrStop ends without error).
func (tx *Tx) Events(after int64, fn func(Event) error) error {
	c := tx.btx.Bucket(bucketEvents).Cursor()
	for k, v := c.Seek(seqKey(after + 1)); k != nil; k, v = c.Next() {
		ev, err := decodeEvent(k, v)
		if err != nil {
			return err
		}
		if err := fn(ev); err != nil {
			return stopped(err)
		}
	}
	if _, err := tx.journalEvents(after, fn); err != nil {
		return stopped(err)
	}
	return nil
}

func stopped(err error) error {
	if err == ErrStop {
		return nil
	}
	return err
}

// PrunedSeq returns the last sequence number removed by retention (0 if
// none): a cursor at or past it has missed nothing. Numbers below the
// first event are otherwise gaps, not losses: the counter starts at the
// clock, and a deleted account's events leave holes on purpose.
func (tx *Tx) PrunedSeq() int64 {
	v := tx.Meta(keyPruned)
	if len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

// FirstSeq returns the oldest kept sequence number, or 0 when the log is empty.
func (tx *Tx) FirstSeq() int64 {
	k, _ := tx.btx.Bucket(bucketEvents).Cursor().First()
	if k != nil {
		return int64(binary.BigEndian.Uint64(k))
	}
	var first int64
	tx.journalEvents(0, func(ev Event) error { first = ev.Seq; return ErrStop })
	return first
}

// DeleteEventsOf removes the events of did with seq < before; used when an
// account is deleted, so its old data stops being replayed.
func (tx *Tx) DeleteEventsOf(did string, before int64) error {
	if err := tx.flushJournal(); err != nil { // its events too
		return err
	}
	b := tx.btx.Bucket(bucketEvents)
	c := b.Cursor()
	var doomed [][]byte
	for k, v := c.First(); k != nil && int64(binary.BigEndian.Uint64(k)) < before; k, v = c.Next() {
		if ev, err := decodeEvent(k, v); err == nil && ev.DID == did {
			doomed = append(doomed, bytes.Clone(k))
		}
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// PruneEvents deletes events older than cutoff, at most batch per
// transaction so writers are never held up for long, and returns how many
// went. The last event is always kept, so the head of the log survives.
func (db *DB) PruneEvents(ctx context.Context, cutoff time.Time, batch int) (int, error) {
	total := 0
	for {
		n := 0
		err := db.Update(ctx, func(tx *Tx) error {
			n = 0
			// Events wait in the journal for a few hundred writes, so one
			// is rarely old enough; the replay is only needed then.
			var oldest time.Time
			tx.journalEvents(0, func(ev Event) error { oldest = ev.Time; return ErrStop })
			if !oldest.IsZero() && oldest.Before(cutoff) {
				if err := tx.flushJournal(); err != nil {
					return err
				}
			}
			b := tx.btx.Bucket(bucketEvents)
			c := b.Cursor()
			last := seqKey(tx.LastSeq())
			for k, v := c.First(); k != nil && n < batch; k, v = c.First() {
				ev, err := decodeEvent(k, v)
				if err != nil {
					return err
				}
				if !ev.Time.Before(cutoff) || bytes.Equal(k, last) {
					break
				}
				if err := c.Delete(); err != nil {
					return err
				}
				if err := tx.SetMeta(keyPruned, k); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		total += n
		if err != nil || n < batch {
			return total, err
		}
	}
}
