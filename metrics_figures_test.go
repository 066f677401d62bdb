package main

import (
	"bufio"
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/store"
	"github.com/hearth-pds/hearth/xrpc/stream"
)

// The status page's chart samples and /metrics come from one reading:
// the same requests, events, records and file size; and events are those
// appended, so pruning old ones does not take new ones off the chart.
func TestChartsAndMetricsShareTheFigures(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "h.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var requests atomic.Int64
	figs := newFigureSource(db, &requests)
	emit := func(n int, at time.Time) {
		t.Helper()
		em := &stream.Emitter{Now: func() time.Time { return at }}
		if err := db.Update(context.Background(), func(tx *store.Tx) error {
			for range n {
				if err := em.Identity(tx, "did:plc:alice", "alice.example.com"); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	metrics := func(now time.Time) map[string]float64 {
		var b strings.Builder
		writeFigures(promWriter{&b}, figs.read(now))
		out := map[string]float64{}
		sc := bufio.NewScanner(strings.NewReader(b.String()))
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 2 {
				out[f[0]], _ = strconv.ParseFloat(f[1], 64)
			}
		}
		return out
	}
	now := time.Now()
	emit(5, now.Add(-100*time.Hour))
	requests.Add(3)
	s := figs.sample(now, true)
	m := metrics(now)
	if s.Events != 5 || m["hearth_events_total"] != 5 || s.Requests != 3 || m["hearth_requests_total"] != 3 {
		t.Fatalf("first sample %+v, metrics %v", s, m)
	}
	if float64(s.FileBytes) != m["hearth_data_file_bytes"] || float64(s.Kept) != m["hearth_events_kept"] || float64(s.Records) != m["hearth_records"] {
		t.Fatalf("sample %+v and metrics %v disagree", s, m)
	}
	emit(3, now)
	requests.Add(2)
	if _, err := db.PruneEvents(context.Background(), now.Add(-time.Hour), 100); err != nil { // the first five
		t.Fatal(err)
	}
	look := figs.sample(now.Add(30*time.Second), false) // the page's "now": no new start
	s = figs.sample(now.Add(time.Minute), true)
	m = metrics(now.Add(time.Minute))
	if look.Events != 3 || look.Requests != 2 || s.Events != 3 || s.Requests != 2 || s.Kept != 3 {
		t.Fatalf("after 3 more events, all pruned: look %+v, sample %+v", look, s)
	}
	if m["hearth_events_total"] != 8 || m["hearth_requests_total"] != 5 || m["hearth_events_kept"] != 3 {
		t.Fatalf("metrics %v", m)
	}
}
