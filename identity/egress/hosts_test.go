package egress

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseHosts(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]netip.Addr
		wantErr bool
	}{
		{"", map[string]netip.Addr{}, false},
		{"client.test=127.0.0.1", map[string]netip.Addr{"client.test": netip.MustParseAddr("127.0.0.1")}, false},
		{" A.Test = 127.0.0.1 , b.test=::1,", map[string]netip.Addr{
			"a.test": netip.MustParseAddr("127.0.0.1"), "b.test": netip.MustParseAddr("::1")}, false},
		{"client.test", nil, true},
		{"client.test=localhost", nil, true},
		{"=127.0.0.1", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseHosts(tt.in)
		if (err != nil) != tt.wantErr || (err == nil && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("ParseHosts(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// TestHostsOnlyInDevelopment: the mapping answers for its names in
// development mode, and outside it is ignored (with a warning) — the name
// goes to the system resolver and the guard as ever.
func TestHostsOnlyInDevelopment(t *testing.T) {
	var host string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host = r.Host
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	loopback := func(ap netip.AddrPort) bool { return ap.Addr().IsLoopback() }
	tests := []struct {
		name string
		opts Options
		url  string
		// refused: the dial was refused by the guard; else it reached srv.
		refused bool
		warned  bool
	}{
		{"dev: the mapped name reaches loopback",
			Options{AllowPrivate: true, Hosts: map[string]netip.Addr{"client.test": netip.MustParseAddr("127.0.0.1")}},
			"http://client.test:" + port + "/", false, false},
		// Were the mapping applied, localhost would lead to TEST-NET-1,
		// which the guard refuses; ignored, it leads to the allowed
		// loopback server.
		{"not dev: ignored",
			Options{Allow: loopback, Hosts: map[string]netip.Addr{"localhost": netip.MustParseAddr("192.0.2.1")}},
			"http://localhost:" + port + "/", false, true},
		{"not dev: applied, the guard would refuse",
			Options{Allow: loopback, Rewrite: func(string) string { return "192.0.2.1:" + port }},
			"http://localhost:" + port + "/", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			tt.opts.Log = slog.New(slog.NewTextHandler(&logs, nil))
			host = ""
			res, err := get(t, New(tt.opts).Client(Use{Timeout: 5 * time.Second}), tt.url)
			if tt.refused {
				if !errors.Is(err, ErrForbiddenAddress) {
					t.Fatalf("err = %v, want ErrForbiddenAddress", err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if want := strings.TrimPrefix(strings.TrimSuffix(tt.url, "/"), "http://"); host != want {
					t.Fatalf("the server saw Host %q, want %q", host, want)
				}
			}
			if got := strings.Contains(logs.String(), "HEARTH_DEV_RESOLVE"); got != tt.warned {
				t.Fatalf("warned %v, want %v: %s", got, tt.warned, logs.String())
			}
		})
	}
}
