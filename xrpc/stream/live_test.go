package stream

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/hearth-pds/hearth/store"
)

// liveSubscribers dials n subscribers without a cursor and waits until
// they are at the head.
func (e *env) liveSubscribers(n int) []*websocket.Conn {
	e.t.Helper()
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		conns[i] = e.dial("")
	}
	waitPositioned(e.t, e.srv, n)
	return conns
}

// waitPositioned waits until srv has fixed the head for n subscribers: a
// subscriber counts as connected before it reads the head, but has a
// position (Lags) only after.
func waitPositioned(t testing.TB, srv *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(srv.Lags()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d subscribers positioned at the head after 10s", len(srv.Lags()), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func readRaw(t *testing.T, c *websocket.Conn) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return b
}

// stored is the frame of seq as the log holds it.
func (e *env) stored(seq int64) []byte {
	e.t.Helper()
	var f []byte
	e.db.View(func(tx *store.Tx) error {
		return tx.Events(seq-1, func(ev store.Event) error {
			if ev.Seq == seq {
				f = bytes.Clone(ev.Frame)
			}
			return store.ErrStop
		})
	})
	if f == nil {
		e.t.Fatalf("event %d is not in the log", seq)
	}
	return f
}

// Live subscribers are served from memory: a write's frame reaches each of
// them without a read transaction per subscriber, and they send exactly
// the bytes the log keeps for replay.
func TestLiveSubscribersShareFramesFromMemory(t *testing.T) {
	e := newStreamEnv(t, Options{})
	conns := e.liveSubscribers(10)
	before := e.db.Bolt().Stats().TxN
	var seqs []int64
	for i := range 20 {
		seqs = append(seqs, e.identity(fmt.Sprintf("live%d.test", i)))
	}
	for _, c := range conns {
		for _, seq := range seqs {
			if got, want := readRaw(t, c), e.stored(seq); !bytes.Equal(got, want) {
				t.Fatalf("live frame of %d differs from the stored one:\n% x\n% x", seq, got, want)
			}
		}
	}
	// e.stored opened one per frame checked; the subscribers none.
	if n := e.db.Bolt().Stats().TxN - before - len(conns)*len(seqs); n > 0 {
		t.Fatalf("live delivery opened %d read transactions for %d subscribers and %d events", n, len(conns), len(seqs))
	}
}

// The frame is handed to subscribers before the write returns, so that
// its answer never goes out before its event.
func TestPublishedBeforeTheWriteReturns(t *testing.T) {
	e := newStreamEnv(t, Options{})
	e.liveSubscribers(1)
	seq := e.identity("first.test")
	if head, ok := e.srv.recent.head(); !ok || head != seq {
		t.Fatalf("when the write returned, subscribers could see up to %d (valid %v), want %d", head, ok, seq)
	}
}

// An event appended without Publish is still sent, in order, from the
// store: by a later Publish that does not follow on, or by Notify.
func TestUnpublishedEventsAreSentFromTheStore(t *testing.T) {
	for _, tc := range []struct {
		name string
		emit func(e *env) *Emitter
	}{
		{"followed by a published one", func(e *env) *Emitter { return &Emitter{} }},
		{"with Notify", func(e *env) *Emitter { return &Emitter{Notify: e.srv.Notify} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newStreamEnv(t, Options{})
			c := e.liveSubscribers(1)[0]
			want := []int64{e.identity("a.test")}
			quiet := tc.emit(e)
			err := e.db.Update(context.Background(), func(tx *store.Tx) error {
				return quiet.Identity(tx, "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "b.test")
			})
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, want[0]+1, e.identity("c.test"))
			for _, seq := range want {
				if m := next(t, c); m.body["seq"] != seq {
					t.Fatalf("got %+v, want seq %d", m.body, seq)
				}
			}
		})
	}
}

// After Forget, frames held in memory for deleted events are not replayed.
func TestForgottenEventsAreNotReplayed(t *testing.T) {
	e := newStreamEnv(t, Options{})
	e.emit.Forget = e.srv.Forget
	gone := "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb"
	var first int64
	for i := range 3 {
		err := e.db.Update(context.Background(), func(tx *store.Tx) error {
			err := e.emit.Identity(tx, gone, fmt.Sprintf("gone%d.test", i))
			if i == 0 {
				first = tx.LastSeq()
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := e.db.Update(context.Background(), func(tx *store.Tx) error { return e.emit.Remove(tx, gone) }); err != nil {
		t.Fatal(err)
	}
	kept := e.identity("kept.test")
	c := e.dial(fmt.Sprint(first - 1))
	if m := next(t, c); m.body["seq"] != kept {
		t.Fatalf("replay after the deletion: got %+v, want only seq %d", m.body, kept)
	}
}
