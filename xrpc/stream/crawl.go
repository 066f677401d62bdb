package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hearth-pds/hearth/identity/egress"
)

// Crawler asks relays to crawl this host: at start-up, and again when the
// host has been active after an idle period, since relays drop hosts that
// go quiet. Failures back off exponentially and are never fatal.
type Crawler struct {
	Hostname string
	Relays   []string // "bsky.network", or a URL with scheme (http only in dev)
	// HTTP should be a client from identity/egress; if nil, one whose
	// dialer refuses private addresses (a relay on the LAN needs dev mode).
	HTTP *http.Client
	Log  *slog.Logger
	// Idle is how long after a successful request an active host asks again.
	Idle time.Duration
	// MinInterval is the least time between two requests to one relay.
	MinInterval time.Duration

	mu     sync.Mutex
	state  map[string]*RelayStatus
	active bool
}

// RelayStatus is the last outcome for a relay, for the status page.
type RelayStatus struct {
	Relay    string
	LastTry  time.Time
	LastOK   time.Time
	LastErr  string
	Failures int
	next     time.Time
}

// Poke records activity (a new event), so an idle relay is asked again.
func (c *Crawler) Poke() {
	c.mu.Lock()
	c.active = true
	c.mu.Unlock()
}

// Status returns the state per relay.
func (c *Crawler) Status() []RelayStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []RelayStatus
	for _, r := range c.Relays {
		if s := c.state[r]; s != nil {
			out = append(out, *s)
		} else {
			out = append(out, RelayStatus{Relay: r})
		}
	}
	return out
}

// Run requests crawls until ctx ends.
func (c *Crawler) Run(ctx context.Context) {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		c.round(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (c *Crawler) defaults() {
	if c.Idle <= 0 {
		c.Idle = 30 * time.Minute
	}
	if c.MinInterval <= 0 {
		c.MinInterval = time.Minute
	}
	if c.HTTP == nil {
		c.HTTP = egress.New(egress.Options{Log: c.Log}).Client(egress.Use{Timeout: 20 * time.Second, MaxRedirects: 3})
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.state == nil {
		c.state = map[string]*RelayStatus{}
	}
}

func (c *Crawler) round(ctx context.Context, now time.Time) {
	c.mu.Lock()
	c.defaults()
	active := c.active
	c.active = false
	var due []string
	for _, r := range c.Relays {
		s := c.state[r]
		switch {
		case s == nil:
			c.state[r] = &RelayStatus{Relay: r}
			due = append(due, r)
		case now.Before(s.next) || now.Sub(s.LastTry) < c.MinInterval:
		case s.Failures > 0:
			due = append(due, r)
		case active && now.Sub(s.LastOK) > c.Idle:
			due = append(due, r)
		}
	}
	if len(due) == 0 && active {
		c.active = true // keep the activity for when a relay comes due
	}
	c.mu.Unlock()
	for _, r := range due {
		c.ask(ctx, r, now)
	}
}

// Now asks every relay to crawl at once, whatever its back-off (the status
// page's button), and returns the refusals joined.
func (c *Crawler) Now(ctx context.Context) error {
	var errs []error
	for r, err := range c.CrawlNow(ctx) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r, err))
		}
	}
	return errors.Join(errs...)
}

// CrawlNow asks relays to crawl this host now, whatever the schedule: the
// named ones, or every configured relay when none is named, and returns
// each one's outcome.
func (c *Crawler) CrawlNow(ctx context.Context, relays ...string) map[string]error {
	c.mu.Lock()
	c.defaults()
	if len(relays) == 0 {
		relays = append([]string(nil), c.Relays...)
	}
	c.mu.Unlock()
	out := make(map[string]error, len(relays))
	for _, r := range relays {
		out[r] = c.ask(ctx, r, time.Now())
	}
	return out
}

// ask sends one request to relay and records its outcome.
func (c *Crawler) ask(ctx context.Context, r string, now time.Time) error {
	err := c.request(ctx, r)
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.state[r]
	if s == nil {
		s = &RelayStatus{Relay: r}
		c.state[r] = s
	}
	s.LastTry = now
	if err != nil {
		s.Failures++
		s.LastErr = err.Error()
		backoff := time.Minute << min(s.Failures-1, 6) // up to ~1 h
		s.next = now.Add(backoff)
		c.Log.Warn("requestCrawl failed", "relay", r, "err", err, "retry_in", backoff)
	} else {
		s.Failures, s.LastErr, s.LastOK = 0, "", now
		c.Log.Info("requestCrawl sent", "relay", r)
	}
	return err
}

func relayURL(r string) string {
	if strings.HasPrefix(r, "http://") || strings.HasPrefix(r, "https://") {
		return strings.TrimSuffix(r, "/")
	}
	return "https://" + r
}

func (c *Crawler) request(ctx context.Context, relay string) error {
	body, _ := json.Marshal(map[string]string{"hostname": c.Hostname})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, relayURL(relay)+"/xrpc/com.atproto.sync.requestCrawl", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("relay answered %d: %s", res.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}
