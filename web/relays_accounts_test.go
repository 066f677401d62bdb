package web

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestRelayAccountWords(t *testing.T) {
	now := time.Date(2026, 1, 2, 18, 4, 0, 0, time.UTC)
	asked := now.Add(-time.Minute)
	tests := []struct {
		a    RelayAccount
		want []string
		tone string
	}{
		{RelayAccount{Handle: "alice.example.com", State: "behind", Since: now.Add(-3 * time.Hour), Mended: asked},
			[]string{"bsky.network has not seen @alice.example.com's posts since Jan 2 15:04 UTC (3 hours ago); Hearth asked it to catch up 1 minute ago."}, "muted"},
		{RelayAccount{Handle: "alice.example.com", State: "missing"},
			[]string{"does not know @alice.example.com yet", "Hearth asks it to catch up shortly."}, "muted"},
		{RelayAccount{Handle: "alice.example.com", State: "desynchronized", MendErr: "disk full"},
			[]string{"lost track of @alice.example.com's posts (desynchronized)", "could not announce the account again (disk full)"}, "muted"},
		{RelayAccount{Handle: "alice.example.com", State: "deactivated", Mended: asked},
			[]string{"thinks @alice.example.com is deactivated, but it is active here"}, "muted"},
		{RelayAccount{Handle: "alice.example.com", State: "throttled"},
			[]string{"holding back @alice.example.com's posts (throttled)", "Asking again does not help"}, "error"},
		{RelayAccount{Handle: "alice.example.com", State: "takendown"},
			[]string{"has taken @alice.example.com down", "Only the relay's operator"}, "error"},
		{RelayAccount{DID: "did:plc:x", State: "suspended", CheckErr: "timeout"},
			[]string{"has suspended did:plc:x", "the latest check failed: timeout"}, "error"},
	}
	for _, tt := range tests {
		got := tt.a.Words("bsky.network", now)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%+v:\n got %q\nwant %q", tt.a, got, w)
			}
		}
		if tt.a.Tone() != tt.tone {
			t.Errorf("%s: tone %q, want %q", tt.a.State, tt.a.Tone(), tt.tone)
		}
	}
	r := RelayStatus{Relay: "bsky.network", State: "active", Accounts: []RelayAccount{tests[0].a}}
	if got := r.Words(now); strings.Contains(got, "has all your posts") || r.Tone() == "ok" {
		t.Errorf("a relay behind on an account reads %q (%s)", got, r.Tone())
	}
}

// The status page names the accounts a relay holds out of step, and the
// Relays card asks for attention.
func TestStatusPageNamesAccountsOutOfStep(t *testing.T) {
	fb := &fakeBackend{host: "pds.example.com", chosen: true, owner: "did:plc:owner", password: "a long password",
		relays: []RelayStatus{{Relay: "bsky.network", State: "active", LastOK: time.Now(), Accounts: []RelayAccount{
			{DID: "did:plc:alice", Handle: "alice.pds.example.com", State: "behind", Since: time.Now().Add(-2 * time.Hour), Mended: time.Now()},
			{DID: "did:plc:bob", Handle: "bob.pds.example.com", State: "throttled"},
		}}}}
	b := newBrowser(t, New(fb, nil).Handler())
	b.post("/login", url.Values{"csrf": {b.csrf("/login")}, "identifier": {"me"}, "password": {"a long password"}}, b.url)
	_, body := b.get("/status")
	for _, want := range []string{"has not seen @alice.pds.example.com&#39;s posts since", "Hearth asked it to catch up just now",
		"holding back @bob.pds.example.com&#39;s posts", "holds some accounts out of step"} {
		if !strings.Contains(body, want) {
			t.Errorf("the status page lacks %q", want)
		}
	}
}
