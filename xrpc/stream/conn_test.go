package stream

import (
	"bytes"
	"context"
	"net"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/hearth-pds/hearth/store"
)

// countingListener counts the Write calls on the connections it accepts.
type countingListener struct {
	net.Listener
	writes atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, writes: &l.writes}, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// A frame goes to a subscriber in one write call, up to the write buffer's
// size: each call is a trip through the kernel's TCP stack, paid once per
// subscriber. With the HTTP server's 4 KiB buffer a frame of 5 KiB took two.
func TestFrameGoesOutInOneWrite(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "hearth.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(db, Options{})
	ln := &countingListener{Listener: httptest.NewUnstartedServer(nil).Listener}
	hs := httptest.NewUnstartedServer(srv)
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
		db.Close()
	})
	c, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(hs.URL, "http")+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	waitPositioned(t, srv, 1)
	var head int64
	db.View(func(tx *store.Tx) error { head = tx.LastSeq(); return nil })

	for i, size := range []int{100, 3 << 10, 5 << 10, 7 << 10, writeBuffer - 16} {
		frame := bytes.Repeat([]byte{byte(i)}, size)
		before := ln.writes.Load()
		srv.Publish(head+int64(i+1), frame)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, got, err := c.Read(ctx)
		cancel()
		if err != nil {
			t.Fatalf("frame of %d bytes: %v", size, err)
		}
		if !bytes.Equal(got, frame) {
			t.Fatalf("frame of %d bytes came as %d bytes", size, len(got))
		}
		if n := ln.writes.Load() - before; n != 1 {
			t.Errorf("frame of %d bytes: %d write calls, want 1", size, n)
		}
	}
}

// A subscriber that does not answer pings is dropped; one that does stays,
// and the drop of one wakes no other into leaving or missing an event.
func TestPings(t *testing.T) {
	e := newStreamEnv(t, Options{PingInterval: 20 * time.Millisecond, WriteTimeout: 100 * time.Millisecond})
	// The library answers a ping only while the connection is read.
	live := e.dial("")
	frames := make(chan []byte, 16)
	go func() {
		for {
			_, b, err := live.Read(context.Background())
			if err != nil {
				return
			}
			frames <- b
		}
	}()
	e.dial("") // never read: its pings go unanswered
	waitPositioned(t, e.srv, 2)
	deadline := time.Now().Add(5 * time.Second)
	for e.srv.Subscribers() > 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscribers after 5s; the silent one should have been dropped", e.srv.Subscribers())
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(10 * 20 * time.Millisecond) // ten more ping intervals
	if n := e.srv.Subscribers(); n != 1 {
		t.Fatalf("%d subscribers, want the one answering pings", n)
	}
	e.identity("after.test")
	select {
	case <-frames:
	case <-time.After(5 * time.Second):
		t.Fatal("the subscriber left got no event after the other was dropped")
	}
}

// A connection being written to is not pinged: its pong would wait behind
// every frame in the socket's buffers, and a consumer catching up slowly
// is alive. Only once it has gone a whole interval without a frame is it
// pinged, and dropped for not answering.
func TestBusyConnectionIsNotPinged(t *testing.T) {
	e := newStreamEnv(t, Options{PingInterval: 20 * time.Millisecond, WriteTimeout: 100 * time.Millisecond})
	e.dial("") // never read: it answers no ping, yet its buffers take these frames
	waitPositioned(t, e.srv, 1)
	for i := 0; i < 60; i++ { // 300 ms of an event every 5 ms
		e.identity("busy.test")
		time.Sleep(5 * time.Millisecond)
		if e.srv.Subscribers() != 1 {
			t.Fatalf("dropped after %d events while frames were flowing", i+1)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.srv.Subscribers() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("still connected 5s after the frames stopped, with its pings unanswered")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
