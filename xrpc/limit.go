package xrpc

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// limiter keeps fixed-window counters in memory. A home PDS has few
// callers; the map is pruned as windows expire.
type limiter struct {
	off     bool // HEARTH_RATE_LIMITS=false: benchmarks and private test rigs
	mu      sync.Mutex
	windows map[string]*window
	lastGC  time.Time
}

type window struct {
	start time.Time
	n     int
}

func newLimiter() *limiter { return &limiter{windows: map[string]*window{}} }

// take counts one hit against key; it fails once max hits fall within d.
func (l *limiter) take(key string, max int, d time.Duration, now time.Time) *Error {
	return l.takeN(key, 1, max, d, now)
}

func (l *limiter) takeN(key string, cost, max int, d time.Duration, now time.Time) *Error {
	if l.off {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastGC) > time.Minute {
		for k, w := range l.windows {
			if now.Sub(w.start) > 24*time.Hour {
				delete(l.windows, k)
			}
		}
		l.lastGC = now
	}
	w := l.windows[key]
	if w == nil || now.Sub(w.start) >= d {
		w = &window{start: now}
		l.windows[key] = w
	}
	if w.n+cost > max {
		retry := w.start.Add(d).Sub(now)
		e := errorf(http.StatusTooManyRequests, "RateLimitExceeded", "Rate Limit Exceeded: %s", describe(max, d))
		e.Headers = map[string]string{
			"Retry-After":         strconv.Itoa(int(retry.Seconds()) + 1),
			"RateLimit-Limit":     strconv.Itoa(max),
			"RateLimit-Remaining": "0",
		}
		return e
	}
	w.n += cost
	return nil
}

func describe(max int, d time.Duration) string { return fmt.Sprintf("%d per %s", max, d) }

// global is the per-IP limit on every XRPC call.
func (l *limiter) global(ip string, now time.Time) *Error {
	return l.take("global:"+ip, 3000, 5*time.Minute, now)
}
