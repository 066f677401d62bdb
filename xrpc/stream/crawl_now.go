package stream

import (
	"context"
	"time"
)

// CrawlNow asks relays to crawl this host now, whatever the schedule: the
// named ones, or every configured relay when none is named. The outcome
// of a configured relay is recorded as a scheduled request's would be.
func (c *Crawler) CrawlNow(ctx context.Context, relays ...string) map[string]error {
	c.mu.Lock()
	c.defaults()
	if len(relays) == 0 {
		relays = c.Relays
	}
	c.mu.Unlock()
	out := make(map[string]error, len(relays))
	for _, r := range relays {
		err := c.request(ctx, r)
		out[r] = err
		c.mu.Lock()
		if s := c.state[r]; s != nil {
			s.LastTry = time.Now()
			if err != nil {
				s.LastErr = err.Error()
			} else {
				s.Failures, s.LastErr, s.LastOK = 0, "", s.LastTry
			}
		}
		c.mu.Unlock()
		if err != nil {
			c.Log.Warn("requestCrawl failed", "relay", r, "err", err)
		} else {
			c.Log.Info("requestCrawl sent", "relay", r)
		}
	}
	return out
}
