package xrpc

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// WriteBuckets are the upper bounds, in seconds, of the write latency
// histogram.
var WriteBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Metrics counts the requests the server answers, by HTTP method and
// status, and times the writes (POSTs to XRPC procedures). The middleware
// fills it; WriteText writes it in the Prometheus text format. Counting is
// one short lock per request.
type Metrics struct {
	mu       sync.Mutex
	requests map[requestKey]uint64
	buckets  []uint64 // per WriteBuckets bound, not cumulative
	count    uint64
	sum      float64
}

type requestKey struct {
	method string
	status int
}

// observe records one answered request.
func (m *Metrics) observe(r *http.Request, status int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.requests == nil {
		m.requests = map[requestKey]uint64{}
		m.buckets = make([]uint64, len(WriteBuckets)+1)
	}
	method := r.Method
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodOptions:
	default:
		method = "other" // the label's values stay few
	}
	m.requests[requestKey{method, status}]++
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/xrpc/") {
		return
	}
	sec := d.Seconds()
	i, _ := slices.BinarySearch(WriteBuckets, sec)
	m.buckets[i]++
	m.count++
	m.sum += sec
}

// WriteText writes the counters in the Prometheus text exposition format.
func (m *Metrics) WriteText(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintln(w, "# HELP hearth_http_requests_total Requests answered, by method and status.")
	fmt.Fprintln(w, "# TYPE hearth_http_requests_total counter")
	keys := make([]requestKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b requestKey) int {
		if c := strings.Compare(a.method, b.method); c != 0 {
			return c
		}
		return a.status - b.status
	})
	for _, k := range keys {
		fmt.Fprintf(w, "hearth_http_requests_total{method=%q,status=\"%d\"} %d\n", k.method, k.status, m.requests[k])
	}
	fmt.Fprintln(w, "# HELP hearth_write_duration_seconds Time to answer a write (a POST to an XRPC procedure).")
	fmt.Fprintln(w, "# TYPE hearth_write_duration_seconds histogram")
	var cum uint64
	for i, le := range WriteBuckets {
		if m.buckets != nil {
			cum += m.buckets[i]
		}
		fmt.Fprintf(w, "hearth_write_duration_seconds_bucket{le=\"%s\"} %d\n", strconv.FormatFloat(le, 'g', -1, 64), cum)
	}
	fmt.Fprintf(w, "hearth_write_duration_seconds_bucket{le=\"+Inf\"} %d\n", m.count)
	fmt.Fprintf(w, "hearth_write_duration_seconds_sum %s\n", strconv.FormatFloat(m.sum, 'g', -1, 64))
	fmt.Fprintf(w, "hearth_write_duration_seconds_count %d\n", m.count)
}

// Metrics is the server's request counters, for /metrics.
func (s *Server) Metrics() *Metrics { return &s.metrics }

// SubscriberLags is how far behind the head each firehose consumer is.
func (s *Server) SubscriberLags() []int64 { return s.firehose.Lags() }
