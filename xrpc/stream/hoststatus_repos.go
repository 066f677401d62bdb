package stream

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hearth-pds/hearth/repo/syntax"
)

// RepoState is how a relay holds one account hosted here, as Hearth judges
// the relay's getRepoStatus answer against its own copy. The empty state
// is "in step".
type RepoState string

const (
	RepoInStep RepoState = ""
	// RepoBehind: the relay's rev is older than ours, and our newer commit
	// is older than the grace period.
	RepoBehind RepoState = "behind"
	// RepoMissing: the relay answers RepoNotFound for an account whose
	// latest commit is past the grace period.
	RepoMissing RepoState = "missing"
	// The relay's own statuses (com.atproto.sync.getRepoStatus).
	RepoDesynchronized RepoState = "desynchronized"
	RepoThrottled      RepoState = "throttled"
	RepoTakendown      RepoState = "takendown"
	RepoSuspended      RepoState = "suspended"
	RepoDeactivated    RepoState = "deactivated"
	RepoDeleted        RepoState = "deleted"
	// RepoInactive: active=false with no status, or one Hearth does not know.
	RepoInactive RepoState = "inactive"
)

// Mendable reports whether announcing the account again (#sync, then
// requestCrawl) can put the relay back in step. Throttling, takedowns and
// suspensions are the relay operator's decisions: asking again does not
// lift them.
func (s RepoState) Mendable() bool {
	switch s {
	case RepoBehind, RepoMissing, RepoDesynchronized, RepoDeactivated, RepoDeleted, RepoInactive:
		return true
	}
	return false
}

// HostedRepo is an active account hosted here, with its current rev.
type HostedRepo struct{ DID, Handle, Rev string }

// RepoCheck is what one relay last said about one hosted account, and what
// Hearth did about it.
type RepoCheck struct {
	DID, Handle string
	State       RepoState
	RelayRev    string // the rev the relay has ("" for none)
	OurRev      string
	Checked     time.Time
	CheckErr    string
	Mended      time.Time // when Hearth last announced the account again
	MendErr     string
	mends       int // announcements since the relay was last in step
	nextMend    time.Time
}

// Since is the time of the relay's rev: the commit it has of the account.
func (r RepoCheck) Since() time.Time { return revTime(r.RelayRev) }

func revTime(rev string) time.Time {
	t, err := syntax.ParseTID(rev)
	if err != nil {
		return time.Time{}
	}
	return t.Time()
}

type repoStatusAnswer struct {
	DID    string `json:"did"`
	Active bool   `json:"active"`
	Status string `json:"status"`
	Rev    string `json:"rev"`
}

// errRepoNotFound is a relay's answer that it has no record of the account.
var errRepoNotFound = errors.New("the relay does not know this account")

// repoStatus asks relay for com.atproto.sync.getRepoStatus of did.
func (c *Crawler) repoStatus(ctx context.Context, relay, did string) (repoStatusAnswer, error) {
	var ans repoStatusAnswer
	if _, err := c.relayGet(ctx, relay, "com.atproto.sync.getRepoStatus?did="+url.QueryEscape(did), "RepoNotFound", errRepoNotFound, &ans); err != nil {
		return ans, err
	}
	if ans.DID != did {
		// Judging it would mend, or pass as in step, the wrong account.
		c.Log.Warn("getRepoStatus answered about another account", "relay", relay, "asked", did, "answered", ans.DID)
		return repoStatusAnswer{}, fmt.Errorf("relay answered about %q, not %s", ans.DID, did)
	}
	return ans, nil
}

// judgeRepo says how far the relay's answer is from our copy of h. A
// relay's status wins over its rev: a throttled account can have an old
// rev for a reason no announcement mends.
func judgeRepo(h HostedRepo, ans repoStatusAnswer, notFound bool, now time.Time, grace time.Duration) RepoState {
	settled := now.Sub(revTime(h.Rev)) > grace // a zero time is long settled
	switch st := RepoState(ans.Status); {
	case notFound:
		if settled {
			return RepoMissing
		}
		return RepoInStep
	case st == RepoDesynchronized || st == RepoThrottled || st == RepoTakendown || st == RepoSuspended ||
		st == RepoDeactivated || st == RepoDeleted:
		return st
	case !ans.Active:
		return RepoInactive
	case ans.Rev < h.Rev && settled:
		return RepoBehind
	}
	return RepoInStep
}

// checkRepos asks relay about the next few hosted accounts (ReposPerCheck
// of them, taking turns), and announces again those it holds out of step
// and mendable, each with its own back-off; then it asks the relay to
// crawl, within the relay's back-off.
func (c *Crawler) checkRepos(ctx context.Context, r string, now time.Time) {
	if c.Repos == nil {
		return
	}
	batch := c.nextRepos(r, c.Repos())
	var mend []HostedRepo
	for _, h := range batch {
		ans, err := c.repoStatus(ctx, r, h.DID)
		notFound := errors.Is(err, errRepoNotFound)
		c.mu.Lock()
		rc := c.state[r].repos[h.DID]
		rc.Handle, rc.OurRev, rc.Checked = h.Handle, h.Rev, now
		switch {
		case err != nil && !notFound:
			rc.CheckErr = err.Error()
		default:
			rc.CheckErr, rc.RelayRev = "", ans.Rev
			rc.State = judgeRepo(h, ans, notFound, now, c.RepoGrace)
			if rc.State == RepoInStep {
				rc.mends, rc.nextMend, rc.MendErr = 0, time.Time{}, ""
			} else if rc.State.Mendable() && !now.Before(rc.nextMend) {
				mend = append(mend, h)
			}
		}
		c.mu.Unlock()
	}
	for _, h := range mend {
		err := c.Resync(ctx, h.DID)
		c.mu.Lock()
		rc := c.state[r].repos[h.DID]
		rc.Mended, rc.mends = now, rc.mends+1
		rc.nextMend = now.Add(backoff(c.MinInterval, rc.mends))
		rc.MendErr = ""
		if err != nil {
			rc.MendErr = err.Error()
		}
		c.mu.Unlock()
		c.Log.Info("a relay holds an account out of step: announced it again", "relay", r, "did", h.DID,
			"state", string(rc.State), "relay_rev", rc.RelayRev, "our_rev", h.Rev, "err", err)
	}
	c.mu.Lock()
	s := c.state[r]
	if allInStep(s) {
		s.repoAsks = 0
	}
	ask := len(mend) > 0 && c.mayAsk(s, now, s.repoAsks)
	if ask {
		s.repoAsks++
	}
	c.mu.Unlock()
	if ask {
		c.ask(ctx, r, now, AskRepos)
	}
}

// allInStep reports whether the last check of each account hosted found
// the relay holding it in step. c.mu is held.
func allInStep(s *RelayStatus) bool {
	for _, rc := range s.repos {
		if rc.Checked.IsZero() || rc.CheckErr != "" || rc.State != RepoInStep {
			return false
		}
	}
	return true
}

// nextRepos records the accounts hosted now (forgetting those gone) and
// returns the next ReposPerCheck of them for relay r, in turn.
func (c *Crawler) nextRepos(r string, hosted []HostedRepo) []HostedRepo {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.state[r]
	if s.repos == nil {
		s.repos = map[string]*RepoCheck{}
	}
	slices.SortFunc(hosted, func(a, b HostedRepo) int { return strings.Compare(a.DID, b.DID) })
	keep := make(map[string]*RepoCheck, len(hosted))
	for _, h := range hosted {
		rc := s.repos[h.DID]
		if rc == nil {
			rc = &RepoCheck{DID: h.DID}
		}
		rc.Handle = h.Handle
		keep[h.DID] = rc
	}
	s.repos = keep
	n := min(c.ReposPerCheck, len(hosted))
	out := make([]HostedRepo, 0, n)
	for i := range n {
		out = append(out, hosted[(s.repoTurn+i)%len(hosted)])
	}
	if len(hosted) > 0 {
		s.repoTurn = (s.repoTurn + n) % len(hosted)
	}
	return out
}

// reposOf copies the relay's account checks, in DID order.
func reposOf(s *RelayStatus) []RepoCheck {
	out := make([]RepoCheck, 0, len(s.repos))
	for _, rc := range s.repos {
		out = append(out, *rc)
	}
	slices.SortFunc(out, func(a, b RepoCheck) int { return strings.Compare(a.DID, b.DID) })
	return out
}

// backoff is base doubled n-1 times, at most an hour (or base, if longer).
func backoff(base time.Duration, n int) time.Duration {
	return min(base<<min(max(n-1, 0), 6), max(time.Hour, base))
}
