package xrpc

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/repo/dagcbor"
	"github.com/hearth-pds/hearth/store"
)

// peakHeap samples the heap until the returned function is called, which
// reports the largest figure seen as peak-heap-MiB (the targets: a 100 MiB
// upload and a 100k-record getRepo each under 16 MiB), next to the heap
// before (idle-heap-MiB: the lexicon catalogue and the rest of a server at
// rest). The heap is the bytes of allocated objects, live or not yet
// collected (HeapAlloc); the spans holding them (HeapInuse, reported as
// peak-spans-MiB) also count the free slots between them, which after
// filling a 100k-record repository are megabytes no export touches.
func peakHeap(b *testing.B) func() {
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak, spans uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			spans = max(spans, ms.HeapInuse)
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(spans)/(1<<20), "peak-spans-MiB")
		b.ReportMetric(float64(base.HeapAlloc)/(1<<20), "idle-heap-MiB")
	}
}

// pattern yields varied bytes without holding them.
type pattern struct{ i byte }

func (p *pattern) Read(b []byte) (int, error) {
	for j := range b {
		b[j] = p.i * 31
		p.i++
	}
	return len(b), nil
}

// discard is a ResponseWriter that keeps nothing of the body, so that the
// heap measured is the server's, not a recorder's copy of the answer.
type discard struct {
	h    http.Header
	code int
	n    int64
}

func (d *discard) Header() http.Header { return d.h }
func (d *discard) WriteHeader(code int) {
	if d.code == 0 {
		d.code = code
	}
}
func (d *discard) Write(p []byte) (int, error) {
	if d.code == 0 {
		d.code = 200
	}
	d.n += int64(len(p))
	return len(p), nil
}

// BenchmarkUploadBlob100MiB streams a 100 MiB upload through the handler.
func BenchmarkUploadBlob100MiB(b *testing.B) {
	bs := newBench(b)
	const size = 100 << 20
	bs.srv.blobs.Limit = size + 1
	bs.srv.setLimit("com.atproto.repo.uploadBlob", size+2)
	b.SetBytes(size)
	i := byte(0)
	defer cpuPerOp(b)()
	defer peakHeap(b)()
	for b.Loop() {
		i++
		req := httptest.NewRequest("POST", "/xrpc/com.atproto.repo.uploadBlob", io.LimitReader(&pattern{i: i}, size))
		req.ContentLength = size
		req.RemoteAddr = "127.0.0.1:5555"
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set("Authorization", "Bearer "+bs.token)
		d := &discard{h: http.Header{}}
		bs.h.ServeHTTP(d, req)
		if d.code != 200 {
			b.Fatalf("uploadBlob: %d", d.code)
		}
	}
}

// BenchmarkGetRepo100k exports a 100 000-record repository as a CAR.
func BenchmarkGetRepo100k(b *testing.B) {
	bs := newBench(b)
	acct, err := bs.srv.loadAccount(bs.did)
	if err != nil {
		b.Fatal(err)
	}
	key, err := bs.srv.keys.get(acct)
	if err != nil {
		b.Fatal(err)
	}
	for done := 0; done < 100_000; done += 500 {
		ops := make([]repo.Op, 500)
		for i := range ops {
			rec, _ := dagcbor.Encode(map[string]any{"$type": bs.collect, "createdAt": "2025-01-02T03:04:05.678Z",
				"text": fmt.Sprintf("post number %d with some typical text to make it realistic", done+i)})
			ops[i] = repo.Op{Action: repo.Create, Collection: bs.collect, RKey: string(bs.srv.clock.Next()), Record: rec}
		}
		if err := bs.srv.db.Update(context.Background(), func(tx *store.Tx) error {
			_, err := bs.srv.writer.Apply(tx, bs.did, key, ops, nil)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	defer cpuPerOp(b)()
	defer peakHeap(b)()
	for b.Loop() {
		req := httptest.NewRequest("GET", "/xrpc/com.atproto.sync.getRepo?did="+bs.did, nil)
		req.RemoteAddr = "127.0.0.1:5555"
		d := &discard{h: http.Header{}}
		bs.h.ServeHTTP(d, req)
		if d.code != 200 || d.n < 1<<20 {
			b.Fatalf("getRepo: %d, %d bytes", d.code, d.n)
		}
	}
}

// BenchmarkFirehose100 makes one createRecord at a time with 100
// subscribers connected, and reports how long after the write's response
// the last of them has its frame (the target: p99 under 2 ms).
func BenchmarkFirehose100(b *testing.B) {
	bs := newBench(b)
	hs := httptest.NewServer(bs.h)
	b.Cleanup(hs.Close)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	const subs = 100
	got := make(chan time.Time, subs)
	var wg sync.WaitGroup
	for range subs {
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/xrpc/com.atproto.sync.subscribeRepos", nil)
		if err != nil {
			b.Fatal(err)
		}
		c.SetReadLimit(8 << 20)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.CloseNow()
			for {
				if _, _, err := c.Read(ctx); err != nil {
					return
				}
				got <- time.Now()
			}
		}()
	}
	for bs.srv.Subscribers() < subs {
		time.Sleep(time.Millisecond)
	}
	var lags []time.Duration
	i := 0
	defer cpuPerOp(b)()
	for b.Loop() {
		i++
		bs.call(b, "POST", "com.atproto.repo.createRecord", bs.postBody(i))
		answered := time.Now()
		var last time.Time
		for range subs {
			last = <-got
		}
		lags = append(lags, max(0, last.Sub(answered)))
	}
	slices.Sort(lags)
	b.ReportMetric(float64(lags[len(lags)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lags[len(lags)*99/100].Microseconds())/1000, "p99-ms")
	cancel()
	hs.CloseClientConnections()
}
