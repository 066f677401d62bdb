package stream

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// standInRelay answers getHostStatus with whatever state it is set to and
// counts requestCrawl calls, as the indigo relay behind bsky.network does.
type standInRelay struct {
	mu       sync.Mutex
	state    HostState // "" answers HostNotFound
	seq      int64
	crawls   []string
	statuses int
	host     string
	// repos answers getRepoStatus by DID; a DID missing is RepoNotFound.
	repos     map[string]repoStatusAnswer
	repoAsks  []string
	repoFails bool // getRepoStatus answers 500
}

func (f *standInRelay) set(state HostState, seq int64) {
	f.mu.Lock()
	f.state, f.seq = state, seq
	f.mu.Unlock()
}

func (f *standInRelay) crawled() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.crawls)
}

func (f *standInRelay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/xrpc/com.atproto.sync.requestCrawl":
		var body struct{ Hostname string }
		json.NewDecoder(r.Body).Decode(&body)
		f.crawls = append(f.crawls, body.Hostname)
		if f.state == StateOffline || f.state == StateIdle || f.state == "" {
			f.state = StateActive // the relay reconnects
		}
	case "/xrpc/com.atproto.sync.getHostStatus":
		f.statuses++
		f.host = r.URL.Query().Get("hostname")
		w.Header().Set("Content-Type", "application/json")
		if f.state == "" {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "HostNotFound", "message": "host not found"})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"hostname": f.host, "seq": f.seq, "accountCount": 1, "status": f.state})
	case "/xrpc/com.atproto.sync.getRepoStatus":
		did := r.URL.Query().Get("did")
		f.repoAsks = append(f.repoAsks, did)
		w.Header().Set("Content-Type", "application/json")
		ans, ok := f.repos[did]
		switch {
		case f.repoFails:
			w.WriteHeader(http.StatusInternalServerError)
			json.NewEncoder(w).Encode(map[string]string{"error": "InternalServerError"})
		case !ok:
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "RepoNotFound", "message": "repo not found"})
		default:
			json.NewEncoder(w).Encode(ans)
		}
	default:
		http.NotFound(w, r)
	}
}

// ourLog is this host's event log as the crawler sees it: seqs with times.
type ourLog struct {
	mu   sync.Mutex
	seqs []int64
	at   []time.Time
}

func (l *ourLog) add(seq int64, at time.Time) {
	l.mu.Lock()
	l.seqs, l.at = append(l.seqs, seq), append(l.at, at)
	l.mu.Unlock()
}

func (l *ourLog) behind(seq int64, limit int) (int, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, first := 0, time.Time{}
	for i, s := range l.seqs {
		if s > seq && n < limit {
			if n == 0 {
				first = l.at[i]
			}
			n++
		}
	}
	return n, first
}

func newTestCrawler(url string, client *http.Client, log *ourLog) *Crawler {
	return &Crawler{
		Hostname: "pds.example.com", Relays: []string{url}, HTTP: client,
		Idle: time.Hour, MinInterval: time.Minute, CheckInterval: 5 * time.Minute, LagThreshold: 2,
		Behind: log.behind,
	}
}

func TestCrawlerMendsEachRelayState(t *testing.T) {
	relay := &standInRelay{state: StateActive}
	srv := httptest.NewServer(relay)
	defer srv.Close()
	log := &ourLog{}
	c := newTestCrawler(srv.URL, srv.Client(), log)
	ctx := context.Background()
	now := time.Unix(10000, 0)

	c.round(ctx, now) // start: one request, then a check
	st := c.Status()[0]
	if relay.crawled() != 1 || st.Reason != AskStart || st.State != StateActive || relay.host != "pds.example.com" {
		t.Fatalf("at start: crawls %d, status %+v", relay.crawled(), st)
	}
	tests := []struct {
		state HostState
		ask   bool
		why   AskReason
	}{
		{StateActive, false, ""},
		{StateIdle, true, AskIdle},
		{StateOffline, true, AskOffline},
		{StateThrottled, false, ""},
		{StateBanned, false, ""},
		{"", true, AskUnknown},
	}
	for _, tt := range tests {
		now = now.Add(5 * time.Minute)
		relay.set(tt.state, 0)
		before := relay.crawled()
		c.round(ctx, now)
		st := c.Status()[0]
		want := tt.state
		if want == "" {
			want = StateUnknown
		}
		if st.State != want || st.Checked != now || st.CheckErr != "" || st.Answer == "" {
			t.Errorf("%q: recorded %+v", tt.state, st.Check)
		}
		if asked := relay.crawled() > before; asked != tt.ask || (tt.ask && st.Reason != tt.why) {
			t.Errorf("%q: asked to crawl %v (reason %q), want %v (%q)", tt.state, asked, st.Reason, tt.ask, tt.why)
		}
	}
}

func TestCrawlerAsksAgainWhenTheRelayLagsTwice(t *testing.T) {
	relay := &standInRelay{state: StateActive}
	srv := httptest.NewServer(relay)
	defer srv.Close()
	log := &ourLog{}
	t0 := time.Unix(10000, 0)
	for i := range 5 {
		log.add(int64(100+i), t0.Add(time.Duration(i)*time.Second))
	}
	relay.set(StateActive, 101) // has 100 and 101; lacks 102, 103, 104
	c := newTestCrawler(srv.URL, srv.Client(), log)
	ctx := context.Background()
	now := t0.Add(time.Hour)
	c.round(ctx, now)
	st := c.Status()[0]
	if st.Behind != 3 || !st.Missing.Equal(t0.Add(2*time.Second)) || st.Seq != 101 {
		t.Fatalf("first check: %+v", st.Check)
	}
	n := relay.crawled()
	now = now.Add(5 * time.Minute)
	c.round(ctx, now) // behind twice in a row: ask
	if relay.crawled() != n+1 || c.Status()[0].Reason != AskLag {
		t.Fatalf("after two lagging checks: crawls %d → %d, reason %q", n, relay.crawled(), c.Status()[0].Reason)
	}
	now = now.Add(5 * time.Minute)
	c.round(ctx, now) // the count starts over: one more lagging check is not enough
	if relay.crawled() != n+1 {
		t.Fatal("asked again on the first lagging check after a request")
	}
	relay.set(StateActive, 104)
	now = now.Add(5 * time.Minute)
	c.round(ctx, now)
	if st := c.Status()[0]; st.Behind != 0 || !st.Missing.IsZero() || relay.crawled() != n+1 {
		t.Fatalf("caught up: %+v, crawls %d", st.Check, relay.crawled())
	}
}

func TestCrawlerBacksOffAnOfflineRelayThatStaysOffline(t *testing.T) {
	relay := &standInRelay{state: StateOffline}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		relay.ServeHTTP(w, r)
		relay.set(StateOffline, 0) // a relay that never comes round
	}))
	defer srv.Close()
	c := newTestCrawler(srv.URL, srv.Client(), &ourLog{})
	c.CheckInterval = time.Minute
	ctx := context.Background()
	now := time.Unix(10000, 0)
	c.round(ctx, now) // the start request; the check finds it offline
	var asks []time.Duration
	last := relay.crawled()
	for i := 1; i <= 60; i++ {
		c.round(ctx, now.Add(time.Duration(i)*time.Minute))
		if n := relay.crawled(); n > last {
			asks, last = append(asks, time.Duration(i)*time.Minute), n
		}
	}
	// One minute, then two more, then four more, …
	want := []time.Duration{time.Minute, 3 * time.Minute, 7 * time.Minute, 15 * time.Minute, 31 * time.Minute}
	if len(asks) != len(want) {
		t.Fatalf("asked at %v, want %v", asks, want)
	}
	for i := range want {
		if asks[i] != want[i] {
			t.Fatalf("asked at %v, want %v", asks, want)
		}
	}
}

// A relay that goes away and comes back having marked the host offline, as
// the indigo relay does after some failed dials, is asked to crawl again
// without anyone's help; while it is away, checks back off.
func TestCrawlerRelayGoesAwayAndComesBack(t *testing.T) {
	relay := &standInRelay{state: StateActive}
	srv, addr := serveRelayAt(t, relay, "127.0.0.1:0")
	c := newTestCrawler(srv.URL, &http.Client{Timeout: 2 * time.Second}, &ourLog{})
	c.CheckInterval = time.Minute
	ctx := context.Background()
	now := time.Unix(10000, 0)
	c.round(ctx, now)
	if st := c.Status()[0]; st.State != StateActive {
		t.Fatalf("before: %+v", st)
	}
	srv.Close()

	checked := 0
	for i := 1; i <= 10; i++ {
		c.round(ctx, now.Add(time.Duration(i)*time.Minute))
		if c.Status()[0].Checked.Equal(now.Add(time.Duration(i) * time.Minute)) {
			checked++
		}
	}
	st := c.Status()[0]
	if st.CheckErr == "" || st.State != StateActive || !st.AnsweredAt.Equal(now) {
		t.Fatalf("while away: %+v", st.Check)
	}
	if checked >= 10 || checked < 3 {
		t.Fatalf("checked %d times in 10 minutes of outage, want a back-off", checked)
	}

	relay.set(StateOffline, 0) // it marked us offline while it was down
	srv, _ = serveRelayAt(t, relay, addr)
	defer srv.Close()
	before := relay.crawled()
	for i := 11; i <= 80 && relay.crawled() == before; i++ {
		c.round(ctx, now.Add(time.Duration(i)*time.Minute))
	}
	st = c.Status()[0]
	if relay.crawled() != before+1 || st.Reason != AskOffline || st.LastErr != "" {
		t.Fatalf("after it came back: crawls %d → %d, %+v", before, relay.crawled(), st)
	}
	c.round(ctx, st.Checked.Add(time.Minute))
	if st := c.Status()[0]; st.State != StateActive {
		t.Fatalf("the relay did not come round: %+v", st.Check)
	}
}

// Run checks on its own at the configured interval (seconds in tests).
func TestCrawlerRunChecksEveryInterval(t *testing.T) {
	relay := &standInRelay{state: StateIdle}
	srv := httptest.NewServer(relay)
	defer srv.Close()
	c := newTestCrawler(srv.URL, srv.Client(), &ourLog{})
	c.CheckInterval, c.MinInterval = 200*time.Millisecond, 100*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		relay.mu.Lock()
		n := relay.statuses
		relay.mu.Unlock()
		if n >= 3 {
			if st := c.Status()[0]; st.State != StateActive {
				t.Fatalf("idle relay not mended: %+v", st)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("fewer than 3 checks in 5 s at a 200 ms interval")
}

// serveRelayAt serves relay on addr ("host:0" for any port) and returns the
// server and its address, so that a test can stop the relay and bring it
// back where Hearth knows it. A port taken meanwhile skips the test.
func serveRelayAt(t *testing.T, relay http.Handler, addr string) (*httptest.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if strings.HasSuffix(addr, ":0") {
			t.Fatal(err)
		}
		t.Skipf("cannot listen again on %s: %v", addr, err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: relay}}
	srv.Start()
	return srv, ln.Addr().String()
}
