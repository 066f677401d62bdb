package stream

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

type fakeRelay struct {
	mu    sync.Mutex
	hosts []string
	fail  bool
}

func (f *fakeRelay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path != "/xrpc/com.atproto.sync.requestCrawl" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	if f.fail {
		http.Error(w, `{"error":"InternalServerError"}`, http.StatusInternalServerError)
		return
	}
	var body struct{ Hostname string }
	json.NewDecoder(r.Body).Decode(&body)
	f.hosts = append(f.hosts, body.Hostname)
}

func (f *fakeRelay) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.hosts)
}

func TestCrawlerRequestsAndBacksOff(t *testing.T) {
	relay := &fakeRelay{fail: true}
	srv := httptest.NewServer(relay)
	defer srv.Close()
	c := &Crawler{Hostname: "pds.example.com", Relays: []string{srv.URL}, Idle: time.Hour, MinInterval: time.Millisecond}
	c.state = map[string]*RelayStatus{}
	c.HTTP = srv.Client()
	now := time.Unix(1000, 0)
	ctx := context.Background()

	c.round(ctx, now) // first attempt fails
	st := c.Status()[0]
	if st.Failures != 1 || st.LastErr == "" {
		t.Fatalf("after a failure: %+v", st)
	}
	c.round(ctx, now.Add(30*time.Second)) // inside the back-off: no request
	if c.Status()[0].Failures != 1 {
		t.Fatal("retried inside the back-off window")
	}
	relay.mu.Lock()
	relay.fail = false
	relay.mu.Unlock()
	c.round(ctx, now.Add(2*time.Minute))
	if st := c.Status()[0]; st.Failures != 0 || relay.count() != 1 || relay.hosts[0] != "pds.example.com" {
		t.Fatalf("after recovery: %+v, relay saw %v", st, relay.hosts)
	}
	// Activity within the idle period asks nothing; after it, asks again.
	c.Poke()
	c.round(ctx, now.Add(10*time.Minute))
	if relay.count() != 1 {
		t.Fatal("asked again before the idle period passed")
	}
	c.round(ctx, now.Add(2*time.Hour))
	if relay.count() != 2 {
		t.Fatalf("relay asked %d times, want 2 after idle + activity", relay.count())
	}
	// No activity: no request, however long it has been.
	c.round(ctx, now.Add(10*time.Hour))
	if relay.count() != 2 {
		t.Fatal("asked without activity")
	}
}

func TestCrawlerNowIgnoresBackOff(t *testing.T) {
	relay := &fakeRelay{fail: true}
	srv := httptest.NewServer(relay)
	defer srv.Close()
	c := &Crawler{Hostname: "pds.example.com", Relays: []string{srv.URL}, HTTP: srv.Client()}
	ctx := context.Background()
	if err := c.Now(ctx); err == nil {
		t.Fatal("a failing relay reported no error")
	}
	relay.mu.Lock()
	relay.fail = false
	relay.mu.Unlock()
	if err := c.Now(ctx); err != nil { // backing off, asked anyway
		t.Fatal(err)
	}
	if st := c.Status(); relay.count() != 1 || st[0].LastErr != "" || st[0].LastOK.IsZero() {
		t.Fatalf("relay asked %d times, status %+v", relay.count(), st)
	}
}
