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
// go quiet. It also asks each relay, every CheckInterval, how it sees this
// host (getHostStatus, see hoststatus.go), and asks again when the relay
// reports it idle or offline, or lags behind for two checks in a row.
// Failures back off exponentially and are never fatal.
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
	// CheckInterval is how often each relay is asked for this host's
	// status (default 5 minutes).
	CheckInterval time.Duration
	// LagThreshold is how many events a relay may be behind before two
	// checks in a row make Hearth ask it to crawl again (default 50).
	LagThreshold int
	// Behind counts this host's events after seq, stopping at limit, and
	// gives the time of the first of them: what a relay at seq lacks. Nil
	// leaves the relays' lag unchecked.
	Behind func(seq int64, limit int) (n int, first time.Time)

	// Repos lists the active accounts hosted here; with Resync set, each
	// host check of a relay that sees the host active also asks it
	// (getRepoStatus, see hoststatus_repos.go) about ReposPerCheck of
	// them in turn (default 5). Nil leaves accounts unchecked.
	Repos func() []HostedRepo
	// Resync announces an account again (a #sync of its current commit),
	// so a relay that lost step with it can take it whole.
	Resync        func(ctx context.Context, did string) error
	ReposPerCheck int
	// RepoGrace is how long after a commit a relay may lack it before
	// Hearth counts the relay behind on that account (default 10 minutes).
	RepoGrace time.Duration

	mu     sync.Mutex
	state  map[string]*RelayStatus
	active bool
}

// RelayStatus is the last outcome for a relay, for the status page.
type RelayStatus struct {
	Relay string
	// The last requestCrawl: when, its outcome, and why it was sent.
	LastTry  time.Time
	LastOK   time.Time
	LastErr  string
	Failures int
	Reason   AskReason
	next     time.Time

	// The last getHostStatus: when, and what the relay said.
	Check
	checkFails int
	nextCheck  time.Time
	lagChecks  int // checks in a row that found the relay too far behind
	unmended   int // requests sent since the relay last looked healthy
	// repoAsks is the requests sent for accounts since a check last found
	// the relay holding every account in step: a host in step says
	// nothing of its accounts, so they back off apart.
	repoAsks int

	// Repos is what the relay last said of each hosted account (filled by
	// Status).
	Repos    []RepoCheck
	repos    map[string]*RepoCheck
	repoTurn int // where the next account check starts
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
			cp := *s
			cp.Repos, cp.repos = reposOf(s), nil
			out = append(out, cp)
		} else {
			out = append(out, RelayStatus{Relay: r})
		}
	}
	return out
}

// Run requests crawls until ctx ends.
func (c *Crawler) Run(ctx context.Context) {
	c.mu.Lock()
	c.defaults()
	every := min(5*time.Second, c.CheckInterval)
	c.mu.Unlock()
	tick := time.NewTicker(every)
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
	if c.CheckInterval <= 0 {
		c.CheckInterval = 5 * time.Minute
	}
	if c.LagThreshold <= 0 {
		c.LagThreshold = 50
	}
	if c.ReposPerCheck <= 0 {
		c.ReposPerCheck = 5
	}
	if c.RepoGrace <= 0 {
		c.RepoGrace = 10 * time.Minute
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
	type job struct {
		relay  string
		reason AskReason
	}
	var due []job
	var checks []string
	for _, r := range c.Relays {
		s := c.state[r]
		switch {
		case s == nil:
			c.state[r] = &RelayStatus{Relay: r}
			due = append(due, job{r, AskStart})
		case now.Before(s.next) || now.Sub(s.LastTry) < c.MinInterval:
		case s.Failures > 0:
			due = append(due, job{r, s.Reason})
		case active && now.Sub(s.LastOK) > c.Idle:
			due = append(due, job{r, AskActivity})
		}
		if s == nil || !now.Before(s.nextCheck) {
			checks = append(checks, r)
		}
	}
	if len(due) == 0 && active {
		c.active = true // keep the activity for when a relay comes due
	}
	c.mu.Unlock()
	for _, j := range due {
		c.ask(ctx, j.relay, now, j.reason)
	}
	for _, r := range checks {
		c.check(ctx, r, now)
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
		out[r] = c.ask(ctx, r, time.Now(), AskOwner)
	}
	return out
}

// ask sends one request to relay and records its outcome.
func (c *Crawler) ask(ctx context.Context, r string, now time.Time, why AskReason) error {
	err := c.request(ctx, r)
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.state[r]
	if s == nil {
		s = &RelayStatus{Relay: r}
		c.state[r] = s
	}
	s.LastTry, s.Reason = now, why
	if err != nil {
		s.Failures++
		s.LastErr = err.Error()
		wait := backoff(time.Minute, s.Failures)
		s.next = now.Add(wait)
		c.Log.Warn("requestCrawl failed", "relay", r, "err", err, "retry_in", wait)
	} else {
		s.Failures, s.LastErr, s.LastOK = 0, "", now
		c.Log.Info("requestCrawl sent", "relay", r, "reason", string(why))
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
