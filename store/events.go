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
	// keySeq in meta was the last sequence number issued, before it moved
	// to the events bucket's own sequence, which lives in the bucket's
	// header: writing it dirties no page an event does not dirty already.
	// A file from before still has it, so the last number is the larger.
	keySeq    = "seq"
	keyPruned = "pruned-seq" // meta: last sequence number pruned by retention
)

// An event record is uvarint(len(did)) ‖ did ‖ time (8 bytes, unix ns) ‖
// frame. The frame is the encoded firehose message, ready to send.

// SeqFloor raises the last issued sequence number to at least floor.
// Open calls it with the current time in milliseconds, so that numbers keep
// increasing even after a restore from an older backup or a reinstall:
// relays treat a counter that goes back as a desync.
func (tx *Tx) SeqFloor(floor int64) error {
	if tx.LastSeq() >= floor {
		return nil
	}
	return tx.btx.Bucket(bucketEvents).SetSequence(uint64(floor))
}

// LastSeq returns the last sequence number issued (0 if none).
func (tx *Tx) LastSeq() int64 {
	last := int64(tx.btx.Bucket(bucketEvents).Sequence())
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
	v := binary.AppendUvarint(nil, uint64(len(did)))
	v = append(v, did...)
	v = binary.BigEndian.AppendUint64(v, uint64(at.UnixNano()))
	v = append(v, frame...)
	b := tx.btx.Bucket(bucketEvents)
	if err := b.Put(seqKey(seq), v); err != nil {
		return 0, err
	}
	if err := b.SetSequence(uint64(seq)); err != nil {
		return 0, err
	}
	return seq, nil
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
	did := string(v[w : w+int(n)])
	rest := v[w+int(n):]
	return Event{
		Seq:   int64(binary.BigEndian.Uint64(k)),
		DID:   did,
		Time:  time.Unix(0, int64(binary.BigEndian.Uint64(rest[:8]))),
		Frame: rest[8:],
	}, nil
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
			if err == ErrStop {
				return nil
			}
			return err
		}
	}
	return nil
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
	if k == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(k))
}

// DeleteEventsOf removes the events of did with seq < before; used when an
// account is deleted, so its old data stops being replayed.
func (tx *Tx) DeleteEventsOf(did string, before int64) error {
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
