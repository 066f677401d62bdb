package main

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// promLine is a sample line of the text format: name{labels} value.
var promLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$`)

// scrape reads /metrics and parses every line, failing on any that is not
// a comment (# HELP / # TYPE) or a sample; it returns the samples by
// name{labels}.
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("content type %q", ct)
	}
	out := map[string]float64{}
	typed := map[string]bool{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if f := strings.Fields(line); len(f) >= 4 && f[0] == "#" && (f[1] == "HELP" || f[1] == "TYPE") {
			if f[1] == "TYPE" {
				typed[f[2]] = true
			}
			continue
		}
		m := promLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("not a metric line: %q", line)
		}
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m[1], "_bucket"), "_sum"), "_count")
		if !typed[m[1]] && !typed[base] {
			t.Fatalf("sample %s before its # TYPE", m[1])
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("value of %q: %v", line, err)
		}
		out[m[1]+m[2]] = v
	}
	return out
}

func TestMetricsParseAndMove(t *testing.T) {
	d := startDaemon(t, t.TempDir())
	d.stop()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	d.env["HEARTH_METRICS_LISTEN"] = addr
	d.start(t)

	before := scrape(t, addr)
	for _, name := range []string{"hearth_firehose_subscribers", "hearth_events_per_second", "hearth_data_file_bytes",
		"hearth_blob_bytes", "hearth_accounts", "hearth_mail_queued", "hearth_disk_free_bytes", "go_goroutines",
		"go_memstats_heap_alloc_bytes", "go_gc_cycles_total", `hearth_write_duration_seconds_bucket{le="+Inf"}`} {
		if _, ok := before[name]; !ok {
			t.Errorf("no %s", name)
		}
	}
	relay := labels("relay", "http://"+strings.TrimPrefix(d.env["HEARTH_RELAYS"], "http://"), "state", "active")
	if _, ok := before["hearth_relay_state"+relay]; !ok {
		t.Errorf("no relay state %s in %v", relay, before)
	}
	d.ok(t, "account", "create", "--handle", "alice.pds.test", "--email", "alice@example.com", "--password", "alice-pw-123")
	for range 3 {
		res, err := http.Get("http://" + d.env["HEARTH_LISTEN"] + "/xrpc/_health")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	after := scrape(t, addr)
	get200 := `hearth_http_requests_total{method="GET",status="200"}`
	if after[get200] < before[get200]+3 {
		t.Errorf("GET 200 requests %v → %v", before[get200], after[get200])
	}
	if after["hearth_accounts"] != before["hearth_accounts"]+1 {
		t.Errorf("accounts %v → %v", before["hearth_accounts"], after["hearth_accounts"])
	}
	if after["hearth_events_total"] <= before["hearth_events_total"] || after["hearth_events_per_second"] <= 0 {
		t.Errorf("events %v → %v, rate %v", before["hearth_events_total"], after["hearth_events_total"], after["hearth_events_per_second"])
	}
}

func TestMetricsListenStaysOnLoopback(t *testing.T) {
	tests := []struct {
		addr   string
		public bool
		ok     bool
	}{
		{"", false, true},
		{"127.0.0.1:9464", false, true},
		{"[::1]:9464", false, true},
		{"localhost:9464", false, true},
		{":9464", false, false},
		{"0.0.0.0:9464", false, false},
		{"192.168.1.5:9464", false, false},
		{"0.0.0.0:9464", true, true},
		{"nonsense", false, false},
	}
	for _, tt := range tests {
		if err := checkMetricsListen(tt.addr, tt.public); (err == nil) != tt.ok {
			t.Errorf("%q public=%v: %v", tt.addr, tt.public, err)
		}
	}
	env := map[string]string{"HEARTH_METRICS_LISTEN": "0.0.0.0:9464"}
	if _, err := loadConfig(nil, func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "HEARTH_METRICS_PUBLIC") {
		t.Errorf("a public metrics address was taken: %v", err)
	}
}

func TestEmptyRelaysTurnCrawlingOff(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	t.Setenv("HEARTH_RELAYS", "")
	if v := getenv("HEARTH_RELAYS"); v != relaysOff {
		t.Fatalf("set-but-empty HEARTH_RELAYS reads %q", v)
	}
	for _, tt := range []struct {
		env  map[string]string
		want int
	}{
		{map[string]string{"HEARTH_HOSTNAME": "pds.example.com"}, 1}, // unset: bsky.network
		{map[string]string{"HEARTH_HOSTNAME": "pds.example.com", "HEARTH_RELAYS": relaysOff}, 0},
		{map[string]string{"HEARTH_HOSTNAME": "pds.example.com", "HEARTH_RELAYS": "relay.example.net"}, 1},
		{map[string]string{"HEARTH_HOSTNAME": "localhost"}, 0}, // never a public relay for a local name
	} {
		cfg, err := loadConfig(nil, func(k string) string { return tt.env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if got := crawlTargets(cfg, log); len(got) != tt.want {
			t.Errorf("%v: relays %v, want %d", tt.env, got, tt.want)
		}
		if cfg.RelayCheckInterval != defaultCheckInterval {
			t.Errorf("check interval %v", cfg.RelayCheckInterval)
		}
	}
	env := map[string]string{"HEARTH_RELAY_CHECK_INTERVAL": "2s"}
	if cfg, err := loadConfig(nil, func(k string) string { return env[k] }); err != nil || cfg.RelayCheckInterval.Seconds() != 2 {
		t.Errorf("HEARTH_RELAY_CHECK_INTERVAL=2s: %v, %v", cfg.RelayCheckInterval, err)
	}
	env["HEARTH_RELAY_CHECK_INTERVAL"] = "soon"
	if _, err := loadConfig(nil, func(k string) string { return env[k] }); err == nil {
		t.Error("a bad interval was taken")
	}
}
