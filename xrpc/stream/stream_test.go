package stream

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/hearth-pds/hearth/repo/dagcbor"
	"github.com/hearth-pds/hearth/store"
)

type env struct {
	t    testing.TB
	db   *store.DB
	srv  *Server
	emit *Emitter
	url  string
}

func newStreamEnv(t testing.TB, opts Options) *env {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "hearth.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(db, opts)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Tests stand in for far-away clients; every real dial is loopback.
		if a := r.Header.Get(testRemote); a != "" {
			r.RemoteAddr = a
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
		db.Close()
	})
	return &env{t: t, db: db, srv: srv, emit: &Emitter{Publish: srv.Publish}, url: "ws" + strings.TrimPrefix(hs.URL, "http")}
}

// identity appends one #identity event and returns its seq.
func (e *env) identity(handle string) int64 {
	e.t.Helper()
	var seq int64
	err := e.db.Update(context.Background(), func(tx *store.Tx) error {
		if err := e.emit.Identity(tx, "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", handle); err != nil {
			return err
		}
		seq = tx.LastSeq()
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return seq
}

type msg struct {
	op   int64
	t    string
	body map[string]any
}

func decodeFrame(t *testing.T, b []byte) msg {
	t.Helper()
	// The header is the first item; Validate tells us where it ends by
	// decoding it alone.
	for i := 1; i <= len(b); i++ {
		if dagcbor.Validate(b[:i]) == nil {
			h, _ := dagcbor.Decode(b[:i])
			body, err := dagcbor.Decode(b[i:])
			if err != nil {
				t.Fatalf("frame body: %v", err)
			}
			hm := h.(map[string]any)
			m := msg{op: hm["op"].(int64), body: body.(map[string]any)}
			m.t, _ = hm["t"].(string)
			return m
		}
	}
	t.Fatalf("no header in frame % x", b[:min(len(b), 16)])
	return msg{}
}

func (e *env) dial(cursor string) *websocket.Conn {
	e.t.Helper()
	u := e.url + "/xrpc/com.atproto.sync.subscribeRepos"
	if cursor != "" {
		u += "?cursor=" + cursor
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	c.SetReadLimit(10 << 20)
	e.t.Cleanup(func() { c.CloseNow() })
	return c
}

func next(t *testing.T, c *websocket.Conn) msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return decodeFrame(t, b)
}

func TestLiveOnlyWithoutCursor(t *testing.T) {
	e := newStreamEnv(t, Options{})
	e.identity("old.test")
	c := e.dial("")
	waitPositioned(t, e.srv, 1) // the subscriber has reached the head
	seq := e.identity("new.test")
	m := next(t, c)
	if m.t != "#identity" || m.body["seq"] != seq || m.body["handle"] != "new.test" {
		t.Fatalf("got %+v, want the live event %d", m, seq)
	}
}

func TestReplayThenLiveWithoutGapOrDuplicate(t *testing.T) {
	e := newStreamEnv(t, Options{})
	first := e.identity("h0.test")
	for i := 1; i < 300; i++ {
		e.identity(fmt.Sprintf("h%d.test", i))
	}
	c := e.dial(fmt.Sprint(first - 1))
	// Writers keep going while the subscriber replays.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 300; i < 600; i++ {
			e.identity(fmt.Sprintf("h%d.test", i))
		}
	}()
	for i := 0; i < 600; i++ {
		m := next(t, c)
		if m.body["seq"] != first+int64(i) {
			t.Fatalf("frame %d has seq %v, want %d", i, m.body["seq"], first+int64(i))
		}
	}
	wg.Wait()
}

func TestFutureAndOutdatedCursor(t *testing.T) {
	e := newStreamEnv(t, Options{})
	head := e.identity("a.test")
	c := e.dial(fmt.Sprint(head + 100))
	m := next(t, c)
	if m.op != -1 || m.body["error"] != "FutureCursor" {
		t.Fatalf("got %+v, want FutureCursor", m)
	}
	// Before anything was pruned, an old cursor has missed nothing: the
	// counter starts at the clock, so numbers below the first are no loss.
	c0 := e.dial("0")
	if m := next(t, c0); m.t == "#info" || m.body["seq"] != head {
		t.Fatalf("cursor 0 on an unpruned log: got %+v, want seq %d", m, head)
	}
	// A cursor older than what retention pruned.
	e.identity("b.test")
	if n, err := e.db.PruneEvents(context.Background(), time.Now().Add(time.Hour), 10); err != nil || n != 1 {
		t.Fatalf("PruneEvents = %d, %v", n, err)
	}
	c2 := e.dial("1")
	if m := next(t, c2); m.t != "#info" || m.body["name"] != "OutdatedCursor" {
		t.Fatalf("got %+v, want #info OutdatedCursor", m)
	}
	if m := next(t, c2); m.body["seq"] != head+1 {
		t.Fatalf("after info got %+v, want seq %d", m, head+1)
	}
	// A cursor at the head replays nothing; the next event arrives live.
	c3 := e.dial(fmt.Sprint(head + 1))
	s := e.identity("c.test")
	if m := next(t, c3); m.body["seq"] != s {
		t.Fatalf("got %+v, want %d", m, s)
	}
}

func TestSlowConsumerIsDropped(t *testing.T) {
	// No lag limit: only the write timeout can drop this consumer.
	e := newStreamEnv(t, Options{MaxLag: 1 << 30, WriteTimeout: 300 * time.Millisecond})
	// A client with a tiny, fixed receive buffer that never reads, so the
	// server's writes block once its own send buffer (at most a few MiB) fills.
	dialer := &net.Dialer{}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err == nil {
			c.(*net.TCPConn).SetReadBuffer(4096)
		}
		return c, err
	}}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, e.url+"/xrpc/com.atproto.sync.subscribeRepos", &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	waitPositioned(t, e.srv, 1)
	handle := strings.Repeat("a", 60) + "." + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60) + ".test"
	for batch := 0; batch < 60 && e.srv.Subscribers() > 0; batch++ {
		e.db.Update(context.Background(), func(tx *store.Tx) error {
			for i := 0; i < 500; i++ {
				if err := e.emit.Identity(tx, "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", handle); err != nil {
					return err
				}
			}
			return nil
		})
	}
	deadline := time.Now().Add(20 * time.Second)
	for e.srv.Subscribers() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := e.srv.Subscribers(); n != 0 {
		t.Fatalf("a consumer that stopped reading is still connected (%d subscribers)", n)
	}
}

func TestLaggingConsumerGetsConsumerTooSlow(t *testing.T) {
	e := newStreamEnv(t, Options{MaxLag: 10})
	c := e.dial("")
	waitPositioned(t, e.srv, 1)
	// Append a burst in one transaction, far beyond MaxLag. Its frames
	// reach the ring one by one as the commit's callbacks run, so the
	// subscriber may send the first few before it sees how far behind it
	// is: it must be cut off well before the end of the burst.
	e.db.Update(context.Background(), func(tx *store.Tx) error {
		for i := 0; i < 100; i++ {
			if err := e.emit.Identity(tx, "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", fmt.Sprintf("h%d.test", i)); err != nil {
				return err
			}
		}
		return nil
	})
	for sent := 0; ; sent++ {
		m := next(t, c)
		if m.op == -1 {
			if m.body["error"] != "ConsumerTooSlow" {
				t.Fatalf("got %+v, want ConsumerTooSlow", m)
			}
			return
		}
		if sent > 10 {
			t.Fatalf("%d frames sent to a consumer 100 behind with MaxLag 10", sent+1)
		}
	}
}

func TestManySubscribers(t *testing.T) {
	e := newStreamEnv(t, Options{})
	const n = 100
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		conns[i] = e.dial("")
	}
	waitPositioned(t, e.srv, n)
	var seqs []int64
	for i := 0; i < 20; i++ {
		seqs = append(seqs, e.identity(fmt.Sprintf("m%d.test", i)))
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, want := range seqs {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, b, err := c.Read(ctx)
				cancel()
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Contains(b, []byte("#identity")) {
					errs <- fmt.Errorf("unexpected frame")
					return
				}
				_ = want
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestBadCursorIsRefused(t *testing.T) {
	e := newStreamEnv(t, Options{})
	ctx := context.Background()
	_, res, err := websocket.Dial(ctx, e.url+"/xrpc/com.atproto.sync.subscribeRepos?cursor=abc", nil)
	if err == nil || res == nil || res.StatusCode != 400 {
		t.Fatalf("bad cursor: %v %v", err, res)
	}
}

func TestShutdownClosesSubscribers(t *testing.T) {
	e := newStreamEnv(t, Options{})
	c := e.dial("")
	waitPositioned(t, e.srv, 1)
	e.srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, err := c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("read after shutdown: %v", err)
	}
}

// testRemote is the test header that sets the caller's address.
const testRemote = "X-Test-Remote-Addr"

// dialFrom subscribes as a client at addr ("" for loopback).
func (e *env) dialFrom(addr string) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h := http.Header{}
	if addr != "" {
		h.Set(testRemote, addr)
	}
	c, res, err := websocket.Dial(ctx, e.url+"/xrpc/com.atproto.sync.subscribeRepos", &websocket.DialOptions{HTTPHeader: h})
	if c != nil {
		e.t.Cleanup(func() { c.CloseNow() })
	}
	return c, res, err
}

func TestSubscriberCaps(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  Options
		from  []string // connections that must be let in, in order
		then  string   // the one refused
		still string   // let in after the refusal
	}{
		{"total", Options{MaxSubscribers: 3}, []string{"203.0.113.1:1", "203.0.113.2:1", ""}, "203.0.113.3:1", ""},
		{"per address", Options{MaxSubscribersPerIP: 2}, []string{"203.0.113.7:1", "203.0.113.7:2"}, "203.0.113.7:3", "203.0.113.8:1"},
		{"per address, IPv6", Options{MaxSubscribersPerIP: 1}, []string{"[2001:db8::1]:1"}, "[2001:db8::1]:2", "[2001:db8::2]:1"},
		{"loopback exempt per address", Options{MaxSubscribersPerIP: 1}, []string{"127.0.0.1:1", "127.0.0.1:2", "[::1]:3"}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newStreamEnv(t, tc.opts)
			var first *websocket.Conn
			for i, addr := range tc.from {
				c, res, err := e.dialFrom(addr)
				if err != nil {
					t.Fatalf("connection %d from %q refused: %v %v", i, addr, err, res)
				}
				if first == nil {
					first = c
				}
			}
			if tc.then == "" {
				return
			}
			_, res, err := e.dialFrom(tc.then)
			if err == nil || res == nil || res.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("over the cap from %q: %v %v, want 429", tc.then, err, res)
			}
			if body, _ := io.ReadAll(res.Body); !bytes.Contains(body, []byte(`"error":"RateLimitExceeded"`)) {
				t.Fatalf("refusal body %s is not an XRPC error", body)
			}
			if tc.still != "" {
				if _, res, err := e.dialFrom(tc.still); err != nil {
					t.Fatalf("from %q after the refusal: %v %v", tc.still, err, res)
				}
			}
			// A slot freed is a slot to take again.
			first.Close(websocket.StatusNormalClosure, "")
			deadline := time.Now().Add(5 * time.Second)
			for {
				_, _, err := e.dialFrom(tc.then)
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("slot never freed: %v", err)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
