package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// HostState is how a relay sees this host, as getHostStatus reports it.
type HostState string

// The states of the lexicon (com.atproto.sync.defs#hostStatus), and
// Unknown for a relay that has no record of this host (HostNotFound).
const (
	StateActive    HostState = "active"
	StateIdle      HostState = "idle"
	StateOffline   HostState = "offline"
	StateThrottled HostState = "throttled"
	StateBanned    HostState = "banned"
	StateUnknown   HostState = "unknown"
)

// AskReason is why a requestCrawl was sent.
type AskReason string

const (
	AskStart    AskReason = "start"    // Hearth started (it may have been down)
	AskActivity AskReason = "activity" // new events after a quiet period
	AskIdle     AskReason = "idle"     // the relay reported the host idle
	AskOffline  AskReason = "offline"  // the relay reported the host offline
	AskUnknown  AskReason = "unknown"  // the relay did not know the host
	AskLag      AskReason = "lag"      // the relay stayed behind for two checks
	AskOwner    AskReason = "owner"    // the owner pressed "ask again"
	AskRepos    AskReason = "repos"    // the relay held accounts out of step
)

// Check is the last getHostStatus answer of one relay.
type Check struct {
	Checked  time.Time // when the relay was last asked, answered or not
	CheckErr string    // why that question failed, if it did
	State    HostState // "" until a relay answers
	Answer   string    // the relay's last answer, as it sent it (trimmed)
	Seq      int64     // the relay's last seq of this host
	Accounts int64     // accounts the relay counts on this host
	// Behind is how many of our events came after Seq (at most
	// LagThreshold+1), and Missing the time of the first of them.
	Behind  int
	Missing time.Time
	// AnsweredAt is the time of the last answer.
	AnsweredAt time.Time
}

// errHostNotFound is a relay's answer that it has no record of the host.
var errHostNotFound = errors.New("the relay does not know this host")

// check asks relay how it sees this host, records the answer, and asks
// the relay to crawl again when the answer calls for it.
func (c *Crawler) check(ctx context.Context, r string, now time.Time) {
	ans, raw, err := c.hostStatus(ctx, r)
	if errors.Is(err, errHostNotFound) {
		ans, err = hostStatusAnswer{Status: StateUnknown}, nil
	}
	var behind int
	var missing time.Time
	if err == nil && c.Behind != nil {
		behind, missing = c.Behind(ans.Seq, c.LagThreshold+1)
	}
	c.mu.Lock()
	s := c.state[r]
	if s == nil {
		s = &RelayStatus{Relay: r}
		c.state[r] = s
	}
	s.Checked = now
	if err != nil {
		s.checkFails++
		s.CheckErr = err.Error()
		wait := backoff(c.CheckInterval, s.checkFails)
		s.nextCheck = now.Add(wait)
		c.mu.Unlock()
		c.Log.Warn("getHostStatus failed", "relay", r, "err", err, "retry_in", wait)
		return
	}
	s.checkFails, s.CheckErr, s.nextCheck = 0, "", now.Add(c.CheckInterval)
	s.State, s.Answer, s.Seq, s.Accounts, s.AnsweredAt = ans.Status, raw, ans.Seq, ans.AccountCount, now
	s.Behind, s.Missing = behind, missing
	var why AskReason
	switch s.State {
	case StateIdle:
		why = AskIdle
	case StateOffline:
		why = AskOffline
	case StateUnknown:
		why = AskUnknown
	}
	lagging := c.Behind != nil && behind > c.LagThreshold
	switch {
	case s.State == StateThrottled || s.State == StateBanned:
		// Asking again mends neither: the relay's operator must.
		s.lagChecks = 0
	case lagging:
		if s.lagChecks++; s.lagChecks >= 2 && why == "" {
			why = AskLag
		}
	default:
		s.lagChecks = 0
	}
	if why == "" && !lagging && s.State == StateActive {
		s.unmended = 0
	}
	ask := why != "" && c.mayAsk(s, now, s.unmended)
	if ask {
		s.unmended++
		if why == AskLag {
			s.lagChecks = 0
		}
	}
	c.mu.Unlock()
	if ask {
		c.Log.Info("a relay needs this host again", "relay", r, "state", string(ans.Status), "behind", behind)
		c.ask(ctx, r, now, why)
	}
	if ans.Status == StateActive && c.Resync != nil {
		c.checkRepos(ctx, r, now)
	}
}

// mayAsk reports whether a repair request to s is due: past the failure
// back-off, and past a pause that doubles with each of the sent requests
// the relay has not yet answered by looking healthy. c.mu is held.
func (c *Crawler) mayAsk(s *RelayStatus, now time.Time, sent int) bool {
	if now.Before(s.next) {
		return false
	}
	pause := backoff(c.MinInterval, sent+1)
	return s.LastTry.IsZero() || now.Sub(s.LastTry) >= pause
}

type hostStatusAnswer struct {
	Hostname     string    `json:"hostname"`
	Seq          int64     `json:"seq"`
	AccountCount int64     `json:"accountCount"`
	Status       HostState `json:"status"`
}

// hostStatus asks relay for com.atproto.sync.getHostStatus of this host.
func (c *Crawler) hostStatus(ctx context.Context, relay string) (hostStatusAnswer, string, error) {
	var ans hostStatusAnswer
	raw, err := c.relayGet(ctx, relay, "com.atproto.sync.getHostStatus?hostname="+url.QueryEscape(c.Hostname), "HostNotFound", errHostNotFound, &ans)
	if err != nil {
		return ans, raw, err
	}
	switch ans.Status {
	case StateActive, StateIdle, StateOffline, StateThrottled, StateBanned:
	default:
		return ans, raw, fmt.Errorf("relay answered an unknown status %q", ans.Status)
	}
	return ans, raw, nil
}

// relayGet makes one query of relay and decodes its answer into out; it
// returns the answer's text (4 KiB at most), and notFoundErr when the relay
// answers the XRPC error notFound.
func (c *Crawler) relayGet(ctx context.Context, relay, query, notFound string, notFoundErr error, out any) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, relayURL(relay)+"/xrpc/"+query, nil)
	if err != nil {
		return "", err
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	raw := string(bytes.TrimSpace(body))
	if res.StatusCode/100 != 2 {
		var e struct{ Error string }
		if json.Unmarshal(body, &e) == nil && e.Error == notFound {
			return raw, notFoundErr
		}
		return raw, fmt.Errorf("relay answered %d: %s", res.StatusCode, raw)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return raw, fmt.Errorf("relay's answer is not JSON: %w", err)
	}
	return raw, nil
}
