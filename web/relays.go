package web

import (
	"fmt"
	"time"
)

// RelayStatus is how one relay sees this host, and what Hearth last did
// about it.
type RelayStatus struct {
	Relay string
	// The last requestCrawl: when it last succeeded, its error if the
	// latest failed, when it was sent and why ("start", "idle", "offline",
	// "unknown", "lag", "activity", "owner").
	LastOK  time.Time
	LastErr string
	LastTry time.Time
	Reason  string
	// The last getHostStatus: State is "" until the relay has answered.
	Checked    time.Time
	CheckErr   string
	State      string
	Answer     string
	Seq        int64
	Behind     int       // our events the relay lacks (counted up to a threshold)
	Missing    time.Time // the time of the first of them
	AnsweredAt time.Time
	// Accounts are those the relay holds out of step (relays_accounts.go).
	Accounts []RelayAccount
}

// Words says in a sentence whether the relay has the owner's posts, and
// what Hearth did about it: "bsky.network has your posts up to 2 minutes
// ago", "bsky.network marked this server offline: Hearth asked it to crawl
// again 1 minute ago".
func (r RelayStatus) Words(now time.Time) string {
	asked := ""
	if !r.LastOK.IsZero() && r.LastErr == "" {
		asked = "Hearth asked it to crawl again " + agoWords(now.Sub(r.LastOK))
	} else if r.LastErr != "" {
		asked = "Hearth's request to crawl again failed (" + r.LastErr + "); it keeps trying"
	}
	switch r.State {
	case "":
		if r.CheckErr != "" {
			return fmt.Sprintf("%s did not answer how it sees this server (%s); Hearth asks again later.", r.Relay, r.CheckErr)
		}
		if r.LastErr != "" {
			return fmt.Sprintf("%s: %s.", r.Relay, asked)
		}
		if !r.LastOK.IsZero() {
			return fmt.Sprintf("%s was asked to crawl this server %s; Hearth checks on it soon.", r.Relay, agoWords(now.Sub(r.LastOK)))
		}
		return r.Relay + ": not asked yet."
	case "idle", "offline":
		if asked == "" {
			asked = "Hearth asks it to crawl again shortly"
		}
		return fmt.Sprintf("%s marked this server %s: %s.", r.Relay, r.State, asked)
	case "unknown":
		if asked == "" {
			asked = "Hearth asks it to crawl shortly"
		}
		return fmt.Sprintf("%s does not know this server yet: %s.", r.Relay, asked)
	case "throttled":
		return fmt.Sprintf("%s is slowing this server down (throttled): posts arrive there late. Asking again does not help; it lifts by itself, or its operator can raise the limit.", r.Relay)
	case "banned":
		return fmt.Sprintf("%s has banned this server: your posts do not reach it. Only its operator can lift a ban.", r.Relay)
	}
	// active
	var s string
	switch {
	case r.Behind == 0 && len(r.Accounts) > 0:
		s = fmt.Sprintf("%s follows this server, but not every account is in step there (below)", r.Relay)
	case r.Behind == 0:
		s = fmt.Sprintf("%s has all your posts", r.Relay)
	case r.Missing.IsZero():
		s = fmt.Sprintf("%s is %d events behind", r.Relay, r.Behind)
	default:
		s = fmt.Sprintf("%s has your posts up to %s", r.Relay, agoWords(now.Sub(r.Missing)))
	}
	if !r.AnsweredAt.IsZero() {
		s += " (checked " + agoWords(now.Sub(r.AnsweredAt)) + ")"
	}
	if r.Reason == "lag" && asked != "" {
		s += "; it fell behind, so " + asked
	}
	if r.CheckErr != "" {
		s += "; the latest check failed: " + r.CheckErr
	}
	return s + "."
}

// Sentence is Words as of now, for the templates.
func (r RelayStatus) Sentence() string { return r.Words(time.Now()) }

// Tone is the style of the sentence: "ok" when the relay has the posts,
// "error" when something is wrong that Hearth cannot mend alone, "muted"
// while it waits or mends.
func (r RelayStatus) Tone() string {
	switch {
	case r.State == "banned" || r.State == "throttled" || r.LastErr != "":
		return "error"
	case r.State == "active" && r.Behind == 0 && len(r.Accounts) == 0:
		return "ok"
	}
	return "muted"
}
