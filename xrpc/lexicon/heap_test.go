package lexicon

import (
	"runtime"
	"testing"

	"github.com/hearth-pds/hearth/repo/dagcbor"
)

// idleCatalogBudget is what a daemon's catalogue may keep live after
// start and its first post. Parsing all 395 schemas kept about 3 MB.
const idleCatalogBudget = 1 << 20

// catalogHeap reports the live heap, in bytes, that Default and the
// validation of one post (and its key) add: what an idle daemon that has
// seen one write keeps for its catalogue.
func catalogHeap(tb testing.TB) uint64 {
	tb.Helper()
	v, err := dagcbor.FromJSON([]byte(typicalPost))
	if err != nil {
		tb.Fatal(err)
	}
	before := heapInuse()
	c, err := Default()
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.ValidateRecord("app.bsky.feed.post", v); err != nil {
		tb.Fatal(err)
	}
	if err := c.ValidateRecordKey("app.bsky.feed.post", "3jzfcijpj2z2a"); err != nil {
		tb.Fatal(err)
	}
	after := heapInuse()
	runtime.KeepAlive(c)
	if after < before {
		return 0
	}
	return after - before
}

func heapInuse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func TestIdleCatalogHeap(t *testing.T) {
	if n := catalogHeap(t); n > idleCatalogBudget {
		t.Errorf("Default and one post keep %d KiB of heap, want at most %d KiB", n>>10, idleCatalogBudget>>10)
	}
}

// BenchmarkIdleHeap reports the catalogue's share of an idle daemon's
// heap as idle-heap-MiB, so a regression shows in go test -bench.
func BenchmarkIdleHeap(b *testing.B) {
	var n uint64
	for b.Loop() {
		n = catalogHeap(b)
	}
	b.ReportMetric(float64(n)/(1<<20), "idle-heap-MiB")
}
