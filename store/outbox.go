package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

var bucketOutbox = []byte("outbox") // id (8 bytes, big-endian) → Mail (JSON)

// Mail is one message waiting in the outbox. Package identity/account/mail
// renders it and its sender delivers it; the store only keeps it, so that a
// token and the mail that carries it are written by the same transaction
// and a restart loses neither.
type Mail struct {
	ID      uint64    `json:"id"`
	DID     string    `json:"did,omitempty"` // the account it concerns; "" for none
	To      string    `json:"to"`
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
	HTML    string    `json:"html,omitempty"`
	Kind    string    `json:"kind"`
	Created time.Time `json:"created"`
	// NextTry is when the sender may try it (again); zero means now.
	NextTry  time.Time `json:"nextTry"`
	Attempts int       `json:"attempts,omitempty"`
	LastErr  string    `json:"lastErr,omitempty"`
}

func mailKey(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

// EnqueueMail adds m to the outbox under the next id, which it sets in m.ID.
// Ids only grow, so the outbox is kept in the order mails were queued.
func (tx *Tx) EnqueueMail(m *Mail) error {
	b := tx.bucket(bucketOutbox)
	id, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("store: outbox id: %w", err)
	}
	m.ID = id
	if err := putJSON(b, mailKey(id), m); err != nil {
		return fmt.Errorf("store: enqueue mail %d: %w", id, err)
	}
	return nil
}

// PutMail rewrites a queued mail (after a failed attempt). It refuses a mail
// that is no longer queued, so a retry never resurrects a mail deleted
// meanwhile (with its account, say).
func (tx *Tx) PutMail(m *Mail) error {
	b := tx.bucket(bucketOutbox)
	if b.Get(mailKey(m.ID)) == nil {
		return fmt.Errorf("mail %d: %w", m.ID, ErrNotFound)
	}
	if err := putJSON(b, mailKey(m.ID), m); err != nil {
		return fmt.Errorf("store: put mail %d: %w", m.ID, err)
	}
	return nil
}

// DeleteMail removes a mail from the outbox; deleting one that is gone is
// not an error, since sent and dropped mails are deleted the same way.
func (tx *Tx) DeleteMail(id uint64) error {
	return tx.bucket(bucketOutbox).Delete(mailKey(id))
}

// Outbox calls fn for each queued mail in id order, until fn returns an
// error (ErrStop ends without error). fn must not change the outbox: bbolt
// cursors are not stable under writes, so collect first, then change.
func (tx *Tx) Outbox(fn func(*Mail) error) error {
	err := tx.bucket(bucketOutbox).ForEach(func(k, v []byte) error {
		var m Mail
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("store: decode mail %x: %w", k, err)
		}
		return fn(&m)
	})
	if errors.Is(err, ErrStop) {
		return nil
	}
	return err
}

// DeleteMailOf drops every queued mail of did, for an account's deletion.
// It reads the whole outbox, which holds only what is not yet delivered.
func (tx *Tx) DeleteMailOf(did string) error {
	b := tx.bucket(bucketOutbox)
	var doomed [][]byte
	err := b.ForEach(func(k, v []byte) error {
		var m struct {
			DID string `json:"did"`
		}
		// A mail that does not decode cannot be sent either: drop it too
		// rather than fail the account's deletion.
		if json.Unmarshal(v, &m) != nil || m.DID == did {
			doomed = append(doomed, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return fmt.Errorf("store: delete mail of %s: %w", did, err)
		}
	}
	return nil
}

// OutboxLen returns how many mails are queued. It counts with a cursor
// rather than bucket statistics, which do not see this transaction's own
// uncommitted writes.
func (tx *Tx) OutboxLen() int {
	n := 0
	c := tx.bucket(bucketOutbox).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	return n
}
