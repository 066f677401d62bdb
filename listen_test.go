package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// testLimits are defaultLimits shrunk to test time: ordinary routes get
// about a second, transfer routes plenty.
func testLimits() serverLimits {
	l := defaultLimits()
	l.ReadHeader, l.Read, l.Write, l.Idle = time.Second, time.Second, time.Second, 500*time.Millisecond
	l.LongRead, l.LongWrite = 30*time.Second, 30*time.Second
	l.perIPLoopback = true
	return l
}

// startServer serves, with l's limits, a handler that reads the body and
// answers its length.
func startServer(t *testing.T, l serverLimits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, n)
	}), l)
	go hs.Serve(limitListener(ln, l, slog.New(slog.DiscardHandler)))
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

// trickle sends a POST to path with a body of n bytes, one byte every
// gap, and returns the answer's status and body, or the error that ended
// the connection, with the time it took.
func trickle(t *testing.T, addr, path string, n int, gap time.Duration) (int, string, error, time.Duration) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", path, n)
	go func() {
		for i := 0; i < n; i++ {
			time.Sleep(gap)
			if _, err := c.Write([]byte("x")); err != nil {
				return
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, "", err, time.Since(start)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	return res.StatusCode, string(b), err, time.Since(start)
}

func TestServerLimits(t *testing.T) {
	addr := startServer(t, testLimits())
	t.Run("trickled body on an ordinary route is cut", func(t *testing.T) {
		t.Parallel()
		status, body, err, took := trickle(t, addr, "/xrpc/com.atproto.repo.createRecord", 100, 300*time.Millisecond)
		if status == http.StatusOK || took > 2500*time.Millisecond {
			t.Fatalf("after %v: %d %q %v, want the connection cut after about 1s", took, status, body, err)
		}
	})
	t.Run("slow upload on a transfer route is not cut", func(t *testing.T) {
		t.Parallel()
		status, body, err, took := trickle(t, addr, "/xrpc/com.atproto.repo.uploadBlob", 10, 250*time.Millisecond)
		if status != http.StatusOK || body != "10" || err != nil {
			t.Fatalf("after %v: %d %q %v, want the whole body read", took, status, body, err)
		}
	})
	t.Run("idle keep-alive is closed", func(t *testing.T) {
		t.Parallel()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		br := bufio.NewReader(c)
		fmt.Fprint(c, "GET /xrpc/_health HTTP/1.1\r\nHost: x\r\n\r\n")
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		idle := time.Now()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
			t.Fatalf("read on the idle connection: %v, want EOF", err)
		}
		if d := time.Since(idle); d > 2*time.Second {
			t.Fatalf("idle connection closed after %v, want about 0.5s", d)
		}
	})
}

// open dials addr and makes one request, leaving the connection open;
// ok is false if the server closed it instead of answering.
func open(t *testing.T, addr string) (net.Conn, bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(3 * time.Second))
	fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("neither answered nor closed: %v", err)
		}
		return c, false
	}
	res.Body.Close()
	return c, true
}

func TestConnectionCaps(t *testing.T) {
	tests := []struct {
		name         string
		total, perIP int
	}{
		{"per address", 10, 2},
		{"in all", 2, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := testLimits()
			l.Idle = 10 * time.Second // held connections stay open
			l.MaxConns, l.MaxConnsPerIP = tt.total, tt.perIP
			addr := startServer(t, l)
			first, _ := open(t, addr)
			if _, ok := open(t, addr); !ok {
				t.Fatal("the second connection was refused")
			}
			if _, ok := open(t, addr); ok {
				t.Fatal("the third connection was served")
			}
			// A closed connection gives its place back.
			first.Close()
			deadline := time.Now().Add(2 * time.Second)
			for {
				if _, ok := open(t, addr); ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the place of a closed connection was not given back")
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// Loopback is one address for everyone behind a reverse proxy: it counts
// toward the total cap only.
func TestLoopbackExemptFromPerIPCap(t *testing.T) {
	l := testLimits()
	l.perIPLoopback = false
	l.Idle = 10 * time.Second
	l.MaxConns, l.MaxConnsPerIP = 10, 1
	addr := startServer(t, l)
	for i := 0; i < 3; i++ {
		if _, ok := open(t, addr); !ok {
			t.Fatalf("loopback connection %d refused", i+1)
		}
	}
}

func TestRouteDeadlinesWithoutDeadlineSupport(t *testing.T) {
	// A writer that cannot hold deadlines (a recorder) still gets served.
	h := routeDeadlines(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }), testLimits())
	for _, p := range []string{"/", "/xrpc/com.atproto.sync.getRepo", "/xrpc/com.atproto.sync.subscribeRepos"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		if !strings.Contains(rec.Body.String(), "ok") {
			t.Errorf("%s: %q", p, rec.Body.String())
		}
	}
}
