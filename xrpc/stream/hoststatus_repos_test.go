package stream

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/repo/syntax"
)

// hostedSet is this host's accounts as the crawler sees them, and the
// #sync announcements it was asked for.
type hostedSet struct {
	mu      sync.Mutex
	repos   []HostedRepo
	synced  []string
	onSync  func(did string)
	syncErr error
}

func (h *hostedSet) list() []HostedRepo {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.repos)
}

func (h *hostedSet) resync(_ context.Context, did string) error {
	h.mu.Lock()
	h.synced = append(h.synced, did)
	on, err := h.onSync, h.syncErr
	h.mu.Unlock()
	if on != nil {
		on(did)
	}
	return err
}

func (h *hostedSet) syncs() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.synced)
}

func (f *standInRelay) setRepo(did string, ans *repoStatusAnswer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.repos == nil {
		f.repos = map[string]repoStatusAnswer{}
	}
	if ans == nil {
		delete(f.repos, did)
		return
	}
	f.repos[did] = *ans
}

func (f *standInRelay) repoAsked() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.repoAsks)
}

func repoCrawler(url string, client *http.Client, hosted *hostedSet) *Crawler {
	c := newTestCrawler(url, client, &ourLog{})
	c.Repos, c.Resync, c.RepoGrace = hosted.list, hosted.resync, 10*time.Minute
	return c
}

const alice = "did:plc:alice"

// Each answer a relay can give about an account, against our copy of it:
// the mendable ones are announced again (#sync) and the relay asked to
// crawl; throttling and takedowns are only named; a commit younger than the
// grace period is not yet "behind".
func TestCrawlerJudgesEachAccountState(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	now := t0.Add(5 * time.Minute) // the second check
	tests := []struct {
		name   string
		age    time.Duration // of our latest commit, at the second check
		ans    *repoStatusAnswer
		fails  bool
		want   RepoState
		mended bool
	}{
		{"in step", time.Hour, &repoStatusAnswer{Active: true, Rev: "ours"}, false, RepoInStep, false},
		{"behind", time.Hour, &repoStatusAnswer{Active: true, Rev: "older"}, false, RepoBehind, true},
		{"behind within grace", time.Minute, &repoStatusAnswer{Active: true, Rev: "older"}, false, RepoInStep, false},
		{"not found", time.Hour, nil, false, RepoMissing, true},
		{"not found within grace", time.Minute, nil, false, RepoInStep, false},
		{"desynchronized", time.Hour, &repoStatusAnswer{Status: "desynchronized", Rev: "older"}, false, RepoDesynchronized, true},
		{"throttled", time.Hour, &repoStatusAnswer{Status: "throttled", Rev: "older"}, false, RepoThrottled, false},
		{"takendown", time.Hour, &repoStatusAnswer{Status: "takendown"}, false, RepoTakendown, false},
		{"suspended", time.Hour, &repoStatusAnswer{Status: "suspended"}, false, RepoSuspended, false},
		{"deactivated", time.Hour, &repoStatusAnswer{Status: "deactivated"}, false, RepoDeactivated, true},
		{"inactive, no reason", time.Hour, &repoStatusAnswer{}, false, RepoInactive, true},
		{"relay error", time.Hour, &repoStatusAnswer{Active: true, Rev: "older"}, true, RepoInStep, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ours := string(syntax.NewTID(now.Add(-tt.age), 0))
			older := string(syntax.NewTID(now.Add(-tt.age-time.Hour), 0))
			relay := &standInRelay{state: StateActive}
			relay.setRepo(alice, &repoStatusAnswer{DID: alice, Active: true, Rev: ours})
			srv := httptest.NewServer(relay)
			defer srv.Close()
			hosted := &hostedSet{repos: []HostedRepo{{DID: alice, Handle: "alice.example.com", Rev: ours}}}
			c := repoCrawler(srv.URL, srv.Client(), hosted)
			ctx := context.Background()
			c.round(ctx, t0) // start: in step
			if st := c.Status()[0]; len(st.Repos) != 1 || st.Repos[0].State != RepoInStep || hosted.syncs() != 0 {
				t.Fatalf("at start: %+v, %d syncs", st.Repos, hosted.syncs())
			}
			if tt.ans != nil {
				a := *tt.ans
				a.DID = alice
				a.Rev = map[string]string{"ours": ours, "older": older}[a.Rev]
				relay.setRepo(alice, &a)
			} else {
				relay.setRepo(alice, nil)
			}
			relay.mu.Lock()
			relay.repoFails = tt.fails
			relay.mu.Unlock()
			crawls := relay.crawled()
			c.round(ctx, now)
			rc := c.Status()[0].Repos[0]
			if rc.State != tt.want || rc.Handle != "alice.example.com" || !rc.Checked.Equal(now) {
				t.Errorf("recorded %+v, want state %q", rc, tt.want)
			}
			if (rc.CheckErr != "") != tt.fails {
				t.Errorf("check error %q, want one: %v", rc.CheckErr, tt.fails)
			}
			if tt.ans != nil && !tt.fails && rc.RelayRev != relay.repos[alice].Rev {
				t.Errorf("relay rev %q, want %q", rc.RelayRev, relay.repos[alice].Rev)
			}
			mended := hosted.syncs() > 0
			asked := relay.crawled() > crawls
			if mended != tt.mended || asked != tt.mended || (tt.mended && (rc.Mended != now || c.Status()[0].Reason != AskRepos)) {
				t.Errorf("announced %v, crawl asked %v (reason %q), mended at %v; want %v", mended, asked, c.Status()[0].Reason, rc.Mended, tt.mended)
			}
		})
	}
}

// A small host has a few accounts, but a relay is never asked about more
// than ReposPerCheck of them at one check: they take turns.
func TestCrawlerAsksAboutAFewAccountsAtATime(t *testing.T) {
	relay := &standInRelay{state: StateActive}
	srv := httptest.NewServer(relay)
	defer srv.Close()
	t0 := time.Unix(1_700_000_000, 0)
	rev := string(syntax.NewTID(t0.Add(-time.Hour), 0))
	hosted := &hostedSet{}
	for i := range 5 {
		hosted.repos = append(hosted.repos, HostedRepo{DID: fmt.Sprintf("did:plc:u%d", i), Handle: fmt.Sprintf("u%d.example.com", i), Rev: rev})
	}
	c := repoCrawler(srv.URL, srv.Client(), hosted)
	c.ReposPerCheck = 2
	ctx := context.Background()
	seen := map[string]bool{}
	for i := range 3 {
		before := relay.repoAsked()
		c.round(ctx, t0.Add(time.Duration(i)*5*time.Minute))
		relay.mu.Lock()
		asked := relay.repoAsks[before:]
		for _, d := range asked {
			seen[d] = true
		}
		relay.mu.Unlock()
		if len(asked) != 2 {
			t.Fatalf("check %d asked about %v, want 2 accounts", i, asked)
		}
	}
	if len(seen) != 5 {
		t.Fatalf("three checks covered %v, want all 5 accounts", seen)
	}
	// Every one is unknown to the relay: at most ReposPerCheck
	// announcements a check, and one crawl request.
	if n := hosted.syncs(); n != 6 {
		t.Fatalf("%d announcements over 3 checks, want 2 a check", n)
	}
	// An account no longer hosted is forgotten.
	hosted.mu.Lock()
	hosted.repos = hosted.repos[:1]
	hosted.mu.Unlock()
	c.round(ctx, t0.Add(15*time.Minute))
	if st := c.Status()[0]; len(st.Repos) != 1 || st.Repos[0].DID != "did:plc:u0" {
		t.Fatalf("after four accounts left: %+v", st.Repos)
	}
}

// An account a relay keeps lacking is announced again with a back-off
// that doubles, and forgotten as a problem once the relay catches up.
func TestCrawlerBacksOffAnAccountThatStaysBehind(t *testing.T) {
	relay := &standInRelay{state: StateActive}
	srv := httptest.NewServer(relay)
	defer srv.Close()
	t0 := time.Unix(1_700_000_000, 0)
	ours := string(syntax.NewTID(t0.Add(-time.Hour), 0))
	relay.setRepo(alice, &repoStatusAnswer{DID: alice, Active: true, Rev: string(syntax.NewTID(t0.Add(-2*time.Hour), 0))})
	hosted := &hostedSet{repos: []HostedRepo{{DID: alice, Handle: "alice.example.com", Rev: ours}}}
	c := repoCrawler(srv.URL, srv.Client(), hosted)
	c.CheckInterval = time.Minute
	ctx := context.Background()
	var at []time.Duration
	for i := 0; i <= 40; i++ {
		before := hosted.syncs()
		c.round(ctx, t0.Add(time.Duration(i)*time.Minute))
		if hosted.syncs() > before {
			at = append(at, time.Duration(i)*time.Minute)
		}
	}
	want := []time.Duration{0, time.Minute, 3 * time.Minute, 7 * time.Minute, 15 * time.Minute, 31 * time.Minute}
	if !slices.Equal(at, want) {
		t.Fatalf("announced at %v, want %v", at, want)
	}
	relay.setRepo(alice, &repoStatusAnswer{DID: alice, Active: true, Rev: ours})
	c.round(ctx, t0.Add(41*time.Minute))
	if rc := c.Status()[0].Repos[0]; rc.State != RepoInStep || rc.mends != 0 {
		t.Fatalf("caught up: %+v", rc)
	}
}

// A relay that goes away is not asked about accounts while it does not
// answer; when it comes back having lost step with one (desynchronized),
// Hearth announces that account again and the relay takes it.
func TestCrawlerAccountsWhenTheRelayGoesAwayAndComesBack(t *testing.T) {
	relay := &standInRelay{state: StateActive}
	srv, addr := serveRelayAt(t, relay, "127.0.0.1:0")
	t0 := time.Unix(1_700_000_000, 0)
	ours := string(syntax.NewTID(t0.Add(-time.Hour), 0))
	relay.setRepo(alice, &repoStatusAnswer{DID: alice, Active: true, Rev: ours})
	hosted := &hostedSet{repos: []HostedRepo{{DID: alice, Handle: "alice.example.com", Rev: ours}}}
	hosted.onSync = func(did string) { relay.setRepo(did, &repoStatusAnswer{DID: did, Active: true, Rev: ours}) }
	c := repoCrawler(srv.URL, &http.Client{Timeout: 2 * time.Second}, hosted)
	c.CheckInterval = time.Minute
	ctx := context.Background()
	c.round(ctx, t0)
	srv.Close()

	asked := relay.repoAsked()
	for i := 1; i <= 10; i++ {
		c.round(ctx, t0.Add(time.Duration(i)*time.Minute))
	}
	if relay.repoAsked() != asked || hosted.syncs() != 0 {
		t.Fatalf("while away: %d account questions, %d announcements", relay.repoAsked()-asked, hosted.syncs())
	}

	relay.setRepo(alice, &repoStatusAnswer{DID: alice, Status: "desynchronized", Rev: ours})
	srv, _ = serveRelayAt(t, relay, addr)
	defer srv.Close()
	var when time.Time
	for i := 11; i <= 80 && hosted.syncs() == 0; i++ {
		when = t0.Add(time.Duration(i) * time.Minute)
		c.round(ctx, when)
	}
	rc := c.Status()[0].Repos[0]
	if hosted.syncs() != 1 || rc.State != RepoDesynchronized || !rc.Mended.Equal(when) {
		t.Fatalf("after it came back: %d announcements, %+v", hosted.syncs(), rc)
	}
	for i := 1; i <= 10 && c.Status()[0].Repos[0].State != RepoInStep; i++ {
		c.round(ctx, when.Add(time.Duration(i)*time.Minute))
	}
	if rc := c.Status()[0].Repos[0]; rc.State != RepoInStep || hosted.syncs() != 1 {
		t.Fatalf("the relay did not take the announcement: %+v, %d announcements", rc, hosted.syncs())
	}
}

// A relay that keeps holding accounts out of step is asked to crawl with a
// pause that doubles across checks, even though each check finds the host
// itself active and in step, and some account due for an announcement;
// once a check finds every account in step, the pause starts over.
func TestCrawlerBacksOffCrawlRequestsForAccounts(t *testing.T) {
	relay := &standInRelay{state: StateActive}
	srv := httptest.NewServer(relay)
	defer srv.Close()
	t0 := time.Unix(1_700_000_000, 0)
	ours := string(syntax.NewTID(t0.Add(-time.Hour), 0))
	hosted := &hostedSet{}
	for i := range 8 { // none known to the relay: each is missing
		hosted.repos = append(hosted.repos, HostedRepo{DID: fmt.Sprintf("did:plc:u%d", i), Rev: ours})
	}
	c := repoCrawler(srv.URL, srv.Client(), hosted)
	c.CheckInterval, c.ReposPerCheck = time.Minute, 1
	ctx := context.Background()
	asks := func(from, to int) []int {
		var at []int
		for i := from; i <= to; i++ {
			before := relay.crawled()
			c.round(ctx, t0.Add(time.Duration(i)*time.Minute))
			if relay.crawled() > before && i > 0 {
				at = append(at, i)
			}
		}
		return at
	}
	if at, want := asks(0, 40), []int{1, 3, 7, 15, 31}; !slices.Equal(at, want) {
		t.Fatalf("asked to crawl for accounts at minutes %v, want %v", at, want)
	}
	if n := hosted.syncs(); n < 8 {
		t.Fatalf("%d announcements, want each account announced", n)
	}
	for _, h := range hosted.list() {
		relay.setRepo(h.DID, &repoStatusAnswer{DID: h.DID, Active: true, Rev: ours})
	}
	asks(41, 48) // every account checked once more: all in step
	relay.setRepo("did:plc:u0", nil)
	if at, want := asks(49, 66), []int{56, 64}; !slices.Equal(at, want) {
		t.Fatalf("after all were in step, asked at minutes %v, want %v", at, want)
	}
}

// A getRepoStatus answer about another account than the one asked about
// is no answer: it is neither judged nor acted on.
func TestCrawlerRefusesAnAnswerAboutAnotherAccount(t *testing.T) {
	tests := []struct{ name, did string }{
		{"another account", "did:plc:bob"},
		{"no account", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			relay := &standInRelay{state: StateActive}
			srv := httptest.NewServer(relay)
			defer srv.Close()
			t0 := time.Unix(1_700_000_000, 0)
			ours := string(syntax.NewTID(t0.Add(-time.Hour), 0))
			relay.setRepo(alice, &repoStatusAnswer{DID: tt.did, Status: "desynchronized", Rev: string(syntax.NewTID(t0.Add(-2*time.Hour), 0))})
			hosted := &hostedSet{repos: []HostedRepo{{DID: alice, Handle: "alice.example.com", Rev: ours}}}
			c := repoCrawler(srv.URL, srv.Client(), hosted)
			c.round(context.Background(), t0)
			rc := c.Status()[0].Repos[0]
			if rc.CheckErr == "" || rc.State != RepoInStep || rc.RelayRev != "" || hosted.syncs() != 0 {
				t.Fatalf("an answer about %q taken for %s: %+v, %d announcements", tt.did, alice, rc, hosted.syncs())
			}
		})
	}
}
