package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// The fan-out floor: what the firehose figure would be for a server that
// does nothing but fan out, measured with the same subscribers. Run with
// -floor, the tool starts itself again as such a server (-floor-serve): a
// POST answers at once after handing every subscriber a frame of
// floorFrame bytes, through the WebSocket library Hearth uses, one
// goroutine per subscriber woken by a closed channel, and a write buffer
// that holds the frame. No store, no signature, no fsync: the distance
// between this and Hearth's figure is Hearth's, the rest is the machine's,
// the library's and the load tool's. It is measured twice: as it is, and
// with what any PDS that keeps its word must do before it publishes, a
// write of fifteen pages to a file and two fdatasyncs (bbolt's commit: the
// pages, then the meta page). On this VM the second's p50 is half a
// millisecond higher and its p99 a few tenths; a sleep as long as the
// fsyncs in their place does not do that, so it comes with the I/O's
// completion, not with the idle gap.

// floorFrame is the size of a post's #commit in a repository of 8,000
// records (the median; a tenth are over 4 KiB).
const floorFrame = 3300

// floor measures the bare fan-out with subs subscribers; with durable, each
// event is published after a durable write.
func floor(subs int, durable bool) (p50, p99 time.Duration) {
	port := freePort()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "hearth-floor-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command(self, "-floor-serve", fmt.Sprintf("127.0.0.1:%d", port), fmt.Sprintf("-floor-sync=%v", durable), "-floor-dir", dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	waitHealthy(base)
	return firehose(base, subs, func(int) error {
		res, err := client.Post(base+"/xrpc/publish", "application/json", nil)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, res.Body)
		return res.Body.Close()
	})
}

// serveFloor is the bare fan-out server; with durable, it makes a durable
// write to a file in dir before each publication.
func serveFloor(addr string, durable bool, dir string) {
	frame := bytes.Repeat([]byte{0xa5}, floorFrame)
	var commit func()
	if durable {
		f, err := os.CreateTemp(dir, "floor-*.dat")
		if err != nil {
			log.Fatal(err)
		}
		page := make([]byte, 4096)
		var n int64
		commit = func() {
			for range 14 {
				f.WriteAt(page, 4096*(1+n%4096))
				n++
			}
			f.Sync()
			f.WriteAt(page, 0)
			f.Sync()
		}
	}
	var mu sync.Mutex
	wake := make(chan struct{})
	var gen int64
	mux := http.NewServeMux()
	mux.HandleFunc("/xrpc/_health", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/xrpc/publish", func(w http.ResponseWriter, r *http.Request) {
		if commit != nil {
			commit()
		}
		mu.Lock()
		gen++
		close(wake)
		wake = make(chan struct{})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	})
	mux.HandleFunc("/xrpc/com.atproto.sync.subscribeRepos", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(hijacker{w}, r, nil)
		if err != nil {
			return
		}
		ctx := c.CloseRead(context.Background())
		mu.Lock()
		seen := gen
		mu.Unlock()
		for ctx.Err() == nil {
			mu.Lock()
			g, ch := gen, wake
			mu.Unlock()
			if g == seen {
				<-ch
				continue
			}
			seen = g
			if c.Write(context.Background(), websocket.MessageBinary, frame) != nil {
				return
			}
		}
	})
	log.Fatal(http.ListenAndServe(addr, mux))
}

// hijacker gives the connection a write buffer that holds a frame, as
// Hearth's stream server does.
type hijacker struct{ http.ResponseWriter }

func (h hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err == nil {
		rw.Writer = bufio.NewWriterSize(conn, 8<<10)
	}
	return conn, rw, err
}
