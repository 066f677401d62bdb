package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/store"
)

// A relay that sees the host active but has lost step with an account
// (desynchronized) gets that account announced again by the running daemon,
// a #sync in the event log; /metrics counts it. (The crawl request that
// follows waits out the relay's back-off: see xrpc/stream.)
func TestDaemonMendsAnAccountARelayLostStepWith(t *testing.T) {
	relay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/xrpc/com.atproto.sync.requestCrawl":
		case "/xrpc/com.atproto.sync.getHostStatus":
			json.NewEncoder(w).Encode(map[string]any{"hostname": r.URL.Query().Get("hostname"), "seq": int64(1) << 60, "status": "active"})
		case "/xrpc/com.atproto.sync.getRepoStatus":
			ans := map[string]any{"did": r.URL.Query().Get("did"), "active": false, "status": "desynchronized"}
			json.NewEncoder(w).Encode(ans)
		default:
			http.NotFound(w, r)
		}
	}))
	defer relay.Close()
	data := t.TempDir()
	d := startDaemon(t, data)
	d.ok(t, "account", "create", "--handle", "alice.pds.test", "--email", "alice@example.com", "--password", "alice-pw-123")
	d.stop()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	metricsAddr := l.Addr().String()
	l.Close()
	d.env["HEARTH_RELAYS"], d.env["HEARTH_RELAY_CHECK_INTERVAL"], d.env["HEARTH_METRICS_LISTEN"] = relay.URL, "1s", metricsAddr
	d.start(t)

	gauge := `hearth_relay_accounts_out_of_step` + labels("relay", relay.URL, "state", "desynchronized")
	deadline := time.Now().Add(15 * time.Second)
	for scrape(t, metricsAddr)[gauge] != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("no %s = 1 in /metrics", gauge)
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.stop()

	db, err := store.Open(dbPath(data), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	syncs := 0
	db.View(func(tx *store.Tx) error {
		return tx.Events(0, func(ev store.Event) error {
			if bytes.Contains(ev.Frame, []byte("#sync")) {
				syncs++
			}
			return nil
		})
	})
	if syncs < 2 { // the sign-up's, then the mend's
		t.Fatalf("%d #sync events, want the sign-up's and at least one more", syncs)
	}
}
