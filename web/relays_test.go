package web

import (
	"strings"
	"testing"
	"time"
)

func TestRelayWords(t *testing.T) {
	now := time.Unix(100000, 0)
	tests := []struct {
		r    RelayStatus
		want string
	}{
		{RelayStatus{Relay: "bsky.network"}, "bsky.network: not asked yet."},
		{RelayStatus{Relay: "bsky.network", State: "active", Behind: 3, Missing: now.Add(-2 * time.Minute), AnsweredAt: now},
			"bsky.network has your posts up to 2 minutes ago (checked just now)."},
		{RelayStatus{Relay: "bsky.network", State: "active", AnsweredAt: now.Add(-time.Hour)},
			"bsky.network has all your posts (checked 60 minutes ago)."},
		{RelayStatus{Relay: "bsky.network", State: "offline", LastOK: now.Add(-time.Minute), Reason: "offline"},
			"bsky.network marked this server offline: Hearth asked it to crawl again 1 minute ago."},
		{RelayStatus{Relay: "bsky.network", State: "idle"}, "bsky.network marked this server idle: Hearth asks it to crawl again shortly."},
		{RelayStatus{Relay: "bsky.network", State: "banned"}, "bsky.network has banned this server"},
		{RelayStatus{Relay: "bsky.network", State: "throttled"}, "throttled"},
		{RelayStatus{Relay: "bsky.network", CheckErr: "connection refused"}, "did not answer"},
	}
	for _, tt := range tests {
		if got := tt.r.Words(now); !strings.Contains(got, tt.want) {
			t.Errorf("%+v:\n got %q\nwant %q", tt.r, got, tt.want)
		}
	}
}
