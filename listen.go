package main

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// serverLimits bound what one client can hold of the server: time to send
// a request, time to take an answer, idle keep-alive, header size, and
// connections. Transfer routes (see routeDeadlines) get long deadlines
// instead of the short ones, so a slow honest upload is not cut while a
// trickled JSON body is.
type serverLimits struct {
	ReadHeader time.Duration // the request line and headers
	Read       time.Duration // the whole request, on an ordinary route
	Write      time.Duration // the whole answer, on an ordinary route
	Idle       time.Duration // a keep-alive connection between requests
	LongRead   time.Duration // the request, on a transfer route
	LongWrite  time.Duration // the answer, on a transfer route
	MaxHeader  int           // bytes of request headers
	// MaxConns and MaxConnsPerIP cap open connections, in all and from
	// one address; 0 is no cap. Connections from loopback (a reverse proxy
	// on this machine, which all clients would share) count toward
	// MaxConns only, unless perIPLoopback.
	MaxConns, MaxConnsPerIP int
	perIPLoopback           bool // tests, which can only connect from loopback
}

func defaultLimits() serverLimits {
	return serverLimits{
		ReadHeader: 10 * time.Second,
		Read:       60 * time.Second,
		Write:      30 * time.Second,
		Idle:       60 * time.Second,
		LongRead:   30 * time.Minute,
		LongWrite:  30 * time.Minute,
		MaxHeader:  64 << 10,
		MaxConns:   512, MaxConnsPerIP: 64,
	}
}

// newHTTPServer returns a server for h with l's limits. ReadTimeout is the
// short one; routeDeadlines moves the deadlines of each request to what
// its route needs. There is no WriteTimeout: routeDeadlines sets every
// request's own, since the server's would also bound the firehose.
func newHTTPServer(h http.Handler, l serverLimits) *http.Server {
	return &http.Server{
		Handler:           routeDeadlines(h, l),
		ReadHeaderTimeout: l.ReadHeader,
		ReadTimeout:       l.Read,
		IdleTimeout:       l.Idle,
		MaxHeaderBytes:    l.MaxHeader,
	}
}

// routeDeadlines sets the read and write deadlines of each request by its
// route: long for the routes that move repositories and blobs, none for
// the firehose (a websocket that lives for days), short for the rest.
func routeDeadlines(next http.Handler, l serverLimits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Errors mean the writer cannot hold deadlines (a test recorder):
		// nothing to move then.
		rc := http.NewResponseController(w)
		now := time.Now()
		switch strings.TrimPrefix(r.URL.Path, "/xrpc/") {
		case "com.atproto.sync.subscribeRepos":
			_ = rc.SetReadDeadline(time.Time{})
			_ = rc.SetWriteDeadline(time.Time{})
		case "com.atproto.sync.getRepo", "com.atproto.sync.getBlob",
			"com.atproto.repo.uploadBlob", "com.atproto.repo.importRepo":
			_ = rc.SetReadDeadline(now.Add(l.LongRead))
			_ = rc.SetWriteDeadline(now.Add(l.LongWrite))
		default: // the server's ReadTimeout stands
			_ = rc.SetWriteDeadline(now.Add(l.Write))
		}
		next.ServeHTTP(w, r)
	})
}

// capListener closes, as soon as it is accepted, a connection over the
// total cap or over its address's cap.
type capListener struct {
	net.Listener
	max, perIP    int
	perIPLoopback bool
	log           *slog.Logger

	mu   sync.Mutex
	open int
	byIP map[netip.Addr]int
}

func limitListener(ln net.Listener, l serverLimits, log *slog.Logger) net.Listener {
	if l.MaxConns <= 0 && l.MaxConnsPerIP <= 0 {
		return ln
	}
	return &capListener{Listener: ln, max: l.MaxConns, perIP: l.MaxConnsPerIP, perIPLoopback: l.perIPLoopback,
		log: log, byIP: map[netip.Addr]int{}}
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := peerAddr(c)
		if !l.acquire(ip) {
			l.log.Debug("connection refused: too many open", "ip", ip)
			c.Close()
			continue
		}
		return &cappedConn{Conn: c, release: sync.OnceFunc(func() { l.release(ip) })}, nil
	}
}

func peerAddr(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

func (l *capListener) countsPerIP(ip netip.Addr) bool {
	return l.perIP > 0 && (l.perIPLoopback || !ip.IsLoopback())
}

func (l *capListener) acquire(ip netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && l.open >= l.max {
		return false
	}
	if l.countsPerIP(ip) {
		if l.byIP[ip] >= l.perIP {
			return false
		}
		l.byIP[ip]++
	}
	l.open++
	return true
}

func (l *capListener) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.countsPerIP(ip) {
		if l.byIP[ip]--; l.byIP[ip] <= 0 {
			delete(l.byIP, ip)
		}
	}
}

// cappedConn gives its place back when closed, once, however often Close
// is called (the server and a hijacking handler may both close it).
type cappedConn struct {
	net.Conn
	release func()
}

func (c *cappedConn) Close() error {
	c.release()
	return c.Conn.Close()
}
