package repo

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/identity/keys"
	"github.com/hearth-pds/hearth/repo/syntax"
	"github.com/hearth-pds/hearth/store"
)

// buildRepo makes a repo of n posts in commits of 200 writes.
func buildRepo(b *testing.B, n int, nosync bool) (*store.DB, *Writer, keys.PrivateKey, string) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "h.db")
	db, err := store.Open(path, store.Options{NoSync: nosync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	key, _ := keys.GenerateK256()
	w := &Writer{Clock: syntax.NewTIDClock(1)}
	ctx := context.Background()
	db.Update(ctx, func(tx *store.Tx) error { _, err := w.Create(tx, testDID, key); return err })
	for done := 0; done < n; {
		batch := min(200, n-done)
		ops := make([]Op, batch)
		for i := range ops {
			ops[i] = Op{Action: Create, Collection: "app.bsky.feed.post", RKey: string(w.Clock.Next()),
				Record: record(b, fmt.Sprintf("post number %d with some typical text to make it realistic", done+i))}
		}
		if err := db.Update(ctx, func(tx *store.Tx) error { _, err := w.Apply(tx, testDID, key, ops, nil); return err }); err != nil {
			b.Fatal(err)
		}
		done += batch
	}
	return db, w, key, path
}

// BenchmarkBatch200 is one commit of 200 creates into a 10 000-record repo.
func BenchmarkBatch200(b *testing.B) {
	db, w, key, _ := buildRepo(b, 10000, false)
	rec := record(b, "hello world")
	for b.Loop() {
		ops := make([]Op, 200)
		for i := range ops {
			ops[i] = Op{Action: Create, Collection: "app.bsky.feed.like", RKey: string(w.Clock.Next()), Record: rec}
		}
		if err := db.Update(context.Background(), func(tx *store.Tx) error { _, err := w.Apply(tx, testDID, key, ops, nil); return err }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*200), "µs/write")
}

// BenchmarkInsert100k inserts 100 000 records (commits of 200, fsync on)
// and reports time and file bytes per record. Run with -benchtime=1x.
func BenchmarkInsert100k(b *testing.B) {
	const n = 100000
	for b.Loop() {
		start := time.Now()
		_, _, _, path := buildRepo(b, n, false)
		el := time.Since(start)
		st, _ := os.Stat(path)
		b.ReportMetric(float64(el.Microseconds())/n, "µs/record")
		b.ReportMetric(float64(st.Size())/n, "file-bytes/record")
	}
}

// peakHeap samples the live heap while fn runs.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	fn()
	close(stop)
	<-done
	return peak.Load()
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkExport100k streams a 100 000-record repo as a CAR and reports
// throughput and the peak live heap during the export.
func BenchmarkExport100k(b *testing.B) {
	db, _, _, _ := buildRepo(b, 100000, true)
	var cw countWriter
	var peak uint64
	b.ResetTimer()
	for b.Loop() {
		cw.n = 0
		p := peakHeap(func() {
			if err := db.View(func(tx *store.Tx) error { return ExportCAR(tx, io.Writer(&cw), testDID, "") }); err != nil {
				b.Fatal(err)
			}
		})
		peak = max(peak, p)
	}
	b.SetBytes(cw.n)
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(cw.n)/(1<<20), "car-MiB")
}

// BenchmarkListRecords lists 100 records at a time from a 10 000-record repo.
func BenchmarkListRecords(b *testing.B) {
	db, _, _, _ := buildRepo(b, 10000, true)
	n := 0
	for b.Loop() {
		db.View(func(tx *store.Tx) error {
			return ListRecords(tx, testDID, "app.bsky.feed.post", "", true, 100, func(Record) error { n++; return nil })
		})
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkGetRecord reads one record through the index.
func BenchmarkGetRecord(b *testing.B) {
	db, _, _, _ := buildRepo(b, 10000, true)
	var rkeys []string
	db.View(func(tx *store.Tx) error {
		return ListRecords(tx, testDID, "app.bsky.feed.post", "", false, 1000, func(r Record) error { rkeys = append(rkeys, r.RKey); return nil })
	})
	i := 0
	for b.Loop() {
		db.View(func(tx *store.Tx) error {
			_, err := GetRecord(tx, testDID, "app.bsky.feed.post", rkeys[i%len(rkeys)])
			return err
		})
		i++
	}
}
