package egress

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"
)

func get(t *testing.T, c *http.Client, u string) (*http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.Do(req)
}

// counting serves "ok" and counts its requests.
func counting(n *atomic.Int32) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		io.WriteString(w, "ok")
	}))
}

func TestLoopbackRefusedUnlessAllowPrivate(t *testing.T) {
	var hits atomic.Int32
	srv := counting(&hits)
	defer srv.Close()
	tests := []struct {
		name string
		opts Options
		url  string
		ok   bool
	}{
		{"literal refused", Options{}, srv.URL, false},
		// "localhost" goes through DNS; the answer is refused.
		{"name refused", Options{}, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1), false},
		// A public name whose DNS points at loopback.
		{"rebound name refused", Options{Rewrite: func(string) string { return srv.Listener.Addr().String() }}, "http://pds.example.com/", false},
		{"dev mode allows", Options{AllowPrivate: true}, srv.URL, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := hits.Load()
			res, err := get(t, New(tt.opts).Client(Use{Timeout: 5 * time.Second}), tt.url)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				return
			}
			if !errors.Is(err, ErrForbiddenAddress) {
				t.Fatalf("err = %v, want ErrForbiddenAddress", err)
			}
			if hits.Load() != before {
				t.Fatal("the refused server was reached")
			}
		})
	}
}

func TestRedirectHopIsDialedThroughTheGuard(t *testing.T) {
	var inside atomic.Int32
	internal := counting(&inside)
	defer internal.Close()
	front := httptest.NewServer(http.RedirectHandler(internal.URL+"/secret", http.StatusFound))
	defer front.Close()
	frontAddr := netip.MustParseAddrPort(front.Listener.Addr().String())
	f := New(Options{Allow: func(ap netip.AddrPort) bool { return ap == frontAddr }})
	_, err := get(t, f.Client(Use{MaxRedirects: 3}), front.URL)
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("err = %v, want ErrForbiddenAddress", err)
	}
	if inside.Load() != 0 {
		t.Fatal("the redirect reached the internal server")
	}
}

func TestMaxRedirects(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "/again", http.StatusFound)
	}))
	defer srv.Close()
	f := New(Options{AllowPrivate: true})

	_, err := get(t, f.Client(Use{MaxRedirects: 3}), srv.URL)
	if !errors.Is(err, ErrTooManyRedirects) {
		t.Fatalf("err = %v, want ErrTooManyRedirects", err)
	}
	if n := hits.Load(); n != 4 {
		t.Fatalf("%d requests, want the first and 3 redirects", n)
	}

	// Zero: the redirect is the answer.
	res, err := get(t, f.Client(Use{}), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("status %d, want the 302 itself", res.StatusCode)
	}
}

func TestInsecureRedirectRefused(t *testing.T) {
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(http.RedirectHandler(plain.URL, http.StatusFound))
	defer tlsSrv.Close()
	f := New(Options{
		Allow:     func(netip.AddrPort) bool { return true },
		TLSConfig: tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig,
	})
	if _, err := get(t, f.Client(Use{MaxRedirects: 3}), tlsSrv.URL); !errors.Is(err, ErrInsecureRedirect) {
		t.Fatalf("err = %v, want ErrInsecureRedirect", err)
	}
}

func TestMaxBody(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		chunked bool
		ok      bool
	}{
		{"under", 99, false, true},
		{"exact", 100, false, true},
		{"over, announced", 101, false, false},
		{"over, chunked", 5000, true, false},
		{"exact, chunked", 100, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.chunked {
					w.(http.Flusher).Flush() // no Content-Length
				}
				w.Write(bytes.Repeat([]byte("x"), tt.size))
			}))
			defer srv.Close()
			res, err := get(t, New(Options{AllowPrivate: true}).Client(Use{MaxBody: 100}), srv.URL)
			if err == nil {
				defer res.Body.Close()
				_, err = io.ReadAll(res.Body)
			}
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, ErrTooLarge)) {
				t.Fatalf("err = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestLimitBody(t *testing.T) {
	tests := []struct {
		in   string
		n    int64
		want string
		ok   bool
	}{
		{"", 0, "", true},
		{"a", 0, "", false},
		{"abc", 3, "abc", true},
		{"abcd", 3, "abc", false},
		{"ab", 3, "ab", true},
	}
	for _, tt := range tests {
		for _, slow := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tt.in)
			if slow {
				r = iotest.OneByteReader(r)
			}
			got, err := io.ReadAll(LimitBody(r, tt.n))
			if string(got) != tt.want || tt.ok != (err == nil) || (err != nil && !errors.Is(err, ErrTooLarge)) {
				t.Errorf("LimitBody(%q, %d) slow=%v = %q, %v", tt.in, tt.n, slow, got, err)
			}
		}
	}
}

func TestRedactHidesTheAddress(t *testing.T) {
	var logged bytes.Buffer
	f := New(Options{Log: slog.New(slog.NewTextHandler(&logged, nil))})
	_, err := get(t, f.Client(Use{}), "http://169.254.169.254/latest/meta-data/")
	if !strings.Contains(err.Error(), "169.254.169.254") {
		t.Fatalf("the raw error should name the address: %v", err)
	}
	red := f.Redact(err, "use", "test")
	if strings.Contains(red.Error(), "169.254") || !errors.Is(red, ErrFetchFailed) || !errors.Is(red, ErrForbiddenAddress) {
		t.Fatalf("redacted: %v", red)
	}
	var ue interface{ Unwrap() error }
	if errors.As(red, &ue) {
		t.Fatal("the redacted error unwraps to its detail")
	}
	if !strings.Contains(logged.String(), "169.254.169.254") || !strings.Contains(logged.String(), "use=test") {
		t.Fatalf("log lacks the detail: %s", logged.String())
	}
	if f.Redact(red) != red || f.Redact(nil) != nil {
		t.Fatal("Redact is not idempotent")
	}
}

func TestRedactKeepsTimeouts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f := New(Options{AllowPrivate: true})
	_, err = get(t, f.Client(Use{Timeout: 100 * time.Millisecond}), "http://"+ln.Addr().String())
	var ne net.Error
	red := f.Redact(err)
	if !errors.As(red, &ne) || !ne.Timeout() || strings.Contains(red.Error(), "127.0.0.1") {
		t.Fatalf("redacted timeout: %v", red)
	}
}

// lateTransport answers only once the request's context has ended, as
// net/http's transport can when the answer races the cancellation.
type lateTransport struct{ closed *atomic.Bool }

func (t lateTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	<-req.Context().Done()
	body := io.NopCloser(strings.NewReader(""))
	return &http.Response{StatusCode: 200, Body: closeFlag{body, t.closed}, Request: req}, nil
}

type closeFlag struct {
	io.ReadCloser
	closed *atomic.Bool
}

func (c closeFlag) Close() error { c.closed.Store(true); return c.ReadCloser.Close() }

func TestAnswerAfterTheDeadlineIsATimeout(t *testing.T) {
	for _, tt := range []struct {
		name    string
		timeout time.Duration // the client's
		ctx     time.Duration // the request's
	}{
		{"client timeout", 20 * time.Millisecond, 0},
		{"context deadline", 0, 20 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var closed atomic.Bool
			c := &http.Client{Transport: inTime{lateTransport{&closed}}, Timeout: tt.timeout}
			ctx := context.Background()
			if tt.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctx)
				defer cancel()
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://late.example.com/", nil)
			res, err := c.Do(req)
			if err == nil {
				res.Body.Close()
				t.Fatalf("a %d answered after the deadline was taken", res.StatusCode)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("got %v, want a deadline error", err)
			}
			if !closed.Load() {
				t.Fatal("the late answer's body was left open")
			}
		})
	}
}
