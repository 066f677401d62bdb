package main

import (
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hearth-pds/hearth/store"
	"github.com/hearth-pds/hearth/web"
)

// figures are the numbers the status page's charts and /metrics share, read
// at one time by one figureSource, so the two never disagree.
type figures struct {
	Time            time.Time
	FileBytes       int64
	Records         int
	Accounts        int
	EventsKept      int    // firehose events kept for replay
	Requests        int64  // HTTP requests served since Hearth started
	Events          uint64 // events appended since the data file was opened
	EventsPerSecond float64
}

// figureSource reads the figures of one open data file. It remembers the
// last chart sample, so each sample holds the requests and events since
// the one before.
type figureSource struct {
	db       *store.DB
	requests *atomic.Int64
	events   eventRate

	mu   sync.Mutex
	last figures
}

func newFigureSource(db *store.DB, requests *atomic.Int64) *figureSource {
	f := &figureSource{db: db, requests: requests}
	db.View(func(tx *store.Tx) error { f.events.seq = tx.LastSeq(); return nil })
	f.last = f.read(time.Now())
	return f
}

// read takes the figures now.
func (f *figureSource) read(now time.Time) figures {
	f.events.sample(f.db, now)
	fg := figures{Time: now, Requests: f.requests.Load()}
	fg.Events, fg.EventsPerSecond = f.events.perSecond()
	if fi, err := os.Stat(f.db.Path()); err == nil {
		fg.FileBytes = fi.Size()
	}
	f.db.View(func(tx *store.Tx) error {
		tx.Repos("", func(r *store.Repo) error { fg.Records += r.RecordCount(); return nil })
		fg.EventsKept = eventCount(tx)
		return tx.Accounts(func(*store.Account) error { fg.Accounts++; return nil })
	})
	return fg
}

// sample is a chart point of now; keep makes it the one the next counts
// start from (the minute's sample), else it is a look (the page's "now").
func (f *figureSource) sample(now time.Time, keep bool) web.Sample {
	fg := f.read(now)
	f.mu.Lock()
	defer f.mu.Unlock()
	s := web.Sample{Time: now.UTC(), Records: fg.Records, FileBytes: fg.FileBytes, Kept: fg.EventsKept,
		Requests: max(0, fg.Requests-f.last.Requests), Events: int64(fg.Events - min(fg.Events, f.last.Events))}
	if keep {
		f.last = fg
	}
	return s
}

// writeFigures writes the shared figures in the Prometheus text format.
func writeFigures(p promWriter, fg figures) {
	p.metric("hearth_requests_total", "counter", "HTTP requests served since Hearth started (the status page's chart).", float64(fg.Requests))
	p.metric("hearth_events_total", "counter", "Events appended to the log since the data file was opened.", float64(fg.Events))
	p.metric("hearth_events_per_second", "gauge", "Events appended per second, over the last minute.", fg.EventsPerSecond)
	p.metric("hearth_events_kept", "gauge", "Firehose events kept for replay.", float64(fg.EventsKept))
	p.metric("hearth_records", "gauge", "Records in all hosted repositories.", float64(fg.Records))
	p.metric("hearth_data_file_bytes", "gauge", "Size of the bbolt data file.", float64(fg.FileBytes))
	p.metric("hearth_accounts", "gauge", "Accounts hosted here.", float64(fg.Accounts))
}
