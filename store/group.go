package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// The group commit. Calls queue while a transaction is being committed and
// go together into the next one, so that they share its two fsyncs. There
// is no committer goroutine: the caller that finds no transaction under
// way leads, running the queue's calls in its own goroutine, and when its
// own call is done it hands the lead to the first caller still waiting. A
// lone writer so never waits on another goroutine: handing a call to a
// committer and its result back cost two goroutine wake-ups per write, and
// each woke an idle thread as well.

// errLead is what a waiting call receives instead of its result when it is
// handed the lead.
var errLead = errors.New("store: lead the group commit")

type group struct {
	mu      sync.Mutex
	queue   []*call
	leading bool // some caller is running the queue, or has been handed it
}

type call struct {
	fn  func(*Tx) error
	err chan error // buffered: its result, or errLead
}

// Update runs fn in a read-write transaction shared with other concurrent
// callers and returns once the transaction is durable. fn may run more than
// once; see the package comment.
func (db *DB) Update(ctx context.Context, fn func(*Tx) error) error {
	db.mu.RLock()
	if db.isClosed {
		db.mu.RUnlock()
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		db.mu.RUnlock()
		return err
	}
	db.inflight.Add(1)
	db.mu.RUnlock()
	defer db.inflight.Done()

	c := &call{fn: fn, err: make(chan error, 1)}
	g := &db.group
	g.mu.Lock()
	g.queue = append(g.queue, c)
	lead := !g.leading
	g.leading = true
	g.mu.Unlock()
	// Once queued the call completes even if ctx ends: the caller may not
	// learn the outcome, but the transaction is never torn.
	if !lead {
		err := <-c.err
		if err != errLead {
			return err
		}
	}
	db.lead(c)
	return <-c.err
}

// lead runs groups from the queue until self's has run, then hands the
// lead to the next waiting call, or gives it up if none is waiting.
func (db *DB) lead(self *call) {
	g := &db.group
	for {
		g.mu.Lock()
		n := min(len(g.queue), db.max)
		if n == 0 { // cannot happen: self stays queued until a batch takes it
			g.leading = false
			g.mu.Unlock()
			return
		}
		batch := slices.Clone(g.queue[:n])
		g.queue = slices.Delete(g.queue, 0, n)
		g.mu.Unlock()
		// Asked before run, which drops failed calls from batch.
		mine := slices.Contains(batch, self)
		db.run(batch)
		if !mine {
			continue
		}
		g.mu.Lock()
		if len(g.queue) == 0 {
			g.leading = false
			g.mu.Unlock()
			return
		}
		next := g.queue[0]
		g.mu.Unlock()
		next.err <- errLead
		return
	}
}

// run applies a group in one transaction. When a function fails, the whole
// transaction is rolled back, the failing call gets its error, and the rest
// are tried again without it.
func (db *DB) run(group []*call) {
	for len(group) > 0 {
		failed := -1
		var ferr error
		var size int64
		err := db.bolt.Update(func(btx *bolt.Tx) error {
			size = btx.Size()
			tx := &Tx{btx: btx, accounts: &db.accounts, db: db}
			for i, c := range group {
				if err := safeCall(c.fn, tx); err != nil {
					failed, ferr = i, err
					return err
				}
			}
			if tx.journalDue() {
				return tx.flushJournal()
			}
			return nil
		})
		if failed >= 0 {
			group[failed].err <- ferr
			group = append(group[:failed], group[failed+1:]...)
			continue
		}
		if err != nil {
			db.log.Error("store: commit failed", "err", err, "calls", len(group))
			err = fmt.Errorf("store: commit: %w", err)
		}
		for _, c := range group {
			c.err <- err
		}
		if err == nil {
			db.reserve.grow(size)
		}
		return
	}
}

func safeCall(fn func(*Tx) error, tx *Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store: update panicked: %v", r)
		}
	}()
	return fn(tx)
}
