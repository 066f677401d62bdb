package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/hearth-pds/hearth/identity/account/mail"
	"github.com/hearth-pds/hearth/store"
	"github.com/hearth-pds/hearth/xrpc"
	"github.com/hearth-pds/hearth/xrpc/stream"
)

// checkMetricsListen refuses a metrics address off loopback unless the
// operator said so: the numbers tell whoever reads them about the server.
func checkMetricsListen(addr string, public bool) error {
	if addr == "" || public {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("metrics listen address %q: want host:port, like 127.0.0.1:9464", addr)
	}
	if ip, err := netip.ParseAddr(host); host == "localhost" || (err == nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("metrics listen address %q is not loopback: use 127.0.0.1:PORT, or set HEARTH_METRICS_PUBLIC=true to serve the metrics to the network", addr)
}

// serveMetrics serves /metrics on cfg.MetricsListen, if set, until the
// returned function is called.
func (a *appliance) serveMetrics(cfg config, srv *xrpc.Server, crawler *stream.Crawler) (func(), error) {
	if cfg.MetricsListen == "" {
		return func() {}, nil
	}
	m := &metricsSource{db: a.db, figs: a.figs.Load(), srv: srv, crawler: crawler, mail: a.mail}
	ln, err := net.Listen("tcp", cfg.MetricsListen)
	if err != nil {
		return nil, fmt.Errorf("metrics listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m)
	profileRoutes(mux)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			a.log.Warn("metrics listener stopped", "err", err)
		}
	}()
	go func() { defer wg.Done(); m.figs.sampleRateEvery(ctx, 5*time.Second) }()
	a.log.Info("metrics listening", "addr", ln.Addr().String())
	return func() { cancel(); hs.Close(); wg.Wait() }, nil
}

// metricsSource gathers the numbers of one run of the server; those the
// status page charts too come from figs (metrics_figures.go).
type metricsSource struct {
	db      *store.DB
	figs    *figureSource
	srv     *xrpc.Server
	crawler *stream.Crawler
	mail    *mail.Sender
}

// sampleRateEvery keeps the event rate's window moving between scrapes.
func (f *figureSource) sampleRateEvery(ctx context.Context, d time.Duration) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			f.events.sample(f.db, now)
		}
	}
}

// eventRate counts the events appended to the log, and their rate over the
// last minute. It counts events, not sequence numbers, which have gaps.
type eventRate struct {
	mu      sync.Mutex
	seq     int64 // the head at the last sample
	total   uint64
	samples []rateSample
}

type rateSample struct {
	at    time.Time
	total uint64
}

func (e *eventRate) sample(db *store.DB, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	db.View(func(tx *store.Tx) error {
		err := tx.Events(e.seq, func(ev store.Event) error { e.total++; return nil })
		e.seq = max(e.seq, tx.LastSeq())
		return err
	})
	e.samples = append(e.samples, rateSample{now, e.total})
	for len(e.samples) > 2 && now.Sub(e.samples[0].at) > time.Minute {
		e.samples = e.samples[1:]
	}
}

// perSecond is the rate over the samples kept.
func (e *eventRate) perSecond() (total uint64, rate float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	first, last := e.samples[0], e.samples[len(e.samples)-1]
	if d := last.at.Sub(first.at).Seconds(); d > 0 {
		rate = float64(last.total-first.total) / d
	}
	return e.total, rate
}

func (m *metricsSource) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	m.WriteText(w)
}

// WriteText writes every metric in the Prometheus text format.
func (m *metricsSource) WriteText(w io.Writer) {
	m.srv.Metrics().WriteText(w)
	p := promWriter{w}

	lags := m.srv.SubscriberLags()
	var lagMax, lagSum int64
	for _, l := range lags {
		lagMax, lagSum = max(lagMax, l), lagSum+l
	}
	p.metric("hearth_firehose_subscribers", "gauge", "Connected firehose subscribers.", float64(m.srv.Subscribers()))
	p.metric("hearth_firehose_lag_max_events", "gauge", "Events the furthest-behind subscriber has yet to be sent.", float64(lagMax))
	p.metric("hearth_firehose_lag_events_sum", "gauge", "Events all subscribers together have yet to be sent.", float64(lagSum))
	fg := m.figs.read(time.Now())
	writeFigures(p, fg)
	disk := diskHealth(filepath.Dir(m.db.Path()), fg.FileBytes, runtime.GOARCH)
	if disk.FileLimit > 0 {
		p.metric("hearth_data_file_limit_bytes", "gauge", "Largest data file this platform can open.", float64(disk.FileLimit))
	}
	p.metric("hearth_disk_free_bytes", "gauge", "Free space of the data folder's file system.", float64(disk.Free))
	p.metric("hearth_disk_total_bytes", "gauge", "Size of the data folder's file system.", float64(disk.Total))
	blobs, blobBytes := m.srv.Blobs().Totals()
	p.metric("hearth_blobs", "gauge", "Stored blobs.", float64(blobs))
	p.metric("hearth_blob_bytes", "gauge", "Bytes of stored blobs.", float64(blobBytes))
	if m.mail != nil {
		p.metric("hearth_mail_queued", "gauge", "Mails waiting in the outbox.", float64(m.mail.Status().Queued))
	}

	relays := m.crawler.Status()
	p.head("hearth_relay_state", "gauge", "How each relay sees this host: 1 for its current state.")
	for _, r := range relays {
		for _, s := range []stream.HostState{stream.StateActive, stream.StateIdle, stream.StateOffline, stream.StateThrottled, stream.StateBanned, stream.StateUnknown} {
			p.sample("hearth_relay_state", labels("relay", r.Relay, "state", string(s)), boolf(r.State == s))
		}
	}
	p.head("hearth_relay_behind_events", "gauge", "Events of this host the relay lacks, counted up to the lag threshold.")
	for _, r := range relays {
		p.sample("hearth_relay_behind_events", labels("relay", r.Relay), float64(r.Behind))
	}
	p.head("hearth_relay_check_ok", "gauge", "1 if the last getHostStatus of the relay was answered.")
	for _, r := range relays {
		p.sample("hearth_relay_check_ok", labels("relay", r.Relay), boolf(r.CheckErr == "" && !r.Checked.IsZero()))
	}
	p.head("hearth_relay_crawl_failures", "gauge", "requestCrawl failures in a row.")
	for _, r := range relays {
		p.sample("hearth_relay_crawl_failures", labels("relay", r.Relay), float64(r.Failures))
	}

	p.head("hearth_relay_accounts_out_of_step", "gauge", "Hosted accounts the relay holds out of step (getRepoStatus), by how.")
	for _, r := range relays {
		n := map[stream.RepoState]int{}
		for _, rc := range r.Repos {
			n[rc.State]++
		}
		for _, s := range repoStates {
			p.sample("hearth_relay_accounts_out_of_step", labels("relay", r.Relay, "state", string(s)), float64(n[s]))
		}
	}

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	p.metric("go_goroutines", "gauge", "Number of goroutines.", float64(runtime.NumGoroutine()))
	p.metric("go_memstats_heap_alloc_bytes", "gauge", "Heap bytes allocated and in use.", float64(ms.HeapAlloc))
	p.metric("go_memstats_heap_sys_bytes", "gauge", "Heap bytes obtained from the system.", float64(ms.HeapSys))
	p.metric("go_memstats_sys_bytes", "gauge", "Bytes obtained from the system.", float64(ms.Sys))
	p.metric("go_gc_cycles_total", "counter", "Completed GC cycles.", float64(ms.NumGC))
	p.metric("go_gc_pause_seconds_total", "counter", "Total GC pause time.", float64(ms.PauseTotalNs)/1e9)
}

// repoStates are the ways a relay can hold an account out of step.
var repoStates = []stream.RepoState{stream.RepoBehind, stream.RepoMissing, stream.RepoDesynchronized, stream.RepoThrottled,
	stream.RepoTakendown, stream.RepoSuspended, stream.RepoDeactivated, stream.RepoDeleted, stream.RepoInactive}

// promWriter writes the text exposition format by hand.
type promWriter struct{ w io.Writer }

func (p promWriter) head(name, typ, help string) {
	fmt.Fprintf(p.w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

func (p promWriter) sample(name, labels string, v float64) {
	fmt.Fprintf(p.w, "%s%s %g\n", name, labels, v)
}

func (p promWriter) metric(name, typ, help string, v float64) {
	p.head(name, typ, help)
	p.sample(name, "", v)
}

// labels formats name/value pairs as {a="x",b="y"}, escaped.
func labels(kv ...string) string {
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `%s="%s"`, kv[i], esc.Replace(kv[i+1]))
	}
	b.WriteByte('}')
	return b.String()
}

func boolf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
