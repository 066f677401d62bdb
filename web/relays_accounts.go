package web

import (
	"fmt"
	"time"
)

// RelayAccount is a hosted account a relay holds out of step, as its
// getRepoStatus answered, and what Hearth did about it.
type RelayAccount struct {
	DID, Handle string
	// State is "behind", "missing", "desynchronized", "throttled",
	// "takendown", "suspended", "deactivated", "deleted" or "inactive".
	State    string
	Since    time.Time // when the relay's copy was committed (zero: none)
	Mended   time.Time // when Hearth last announced the account again
	MendErr  string
	CheckErr string // the latest question about it failed
}

// Line is one sentence of a list, with its tone.
type Line struct{ Text, Tone string }

// AccountLines names the accounts the relay holds out of step, in words.
func (r RelayStatus) AccountLines() []Line { return r.accountLines(time.Now()) }

func (r RelayStatus) accountLines(now time.Time) []Line {
	out := make([]Line, 0, len(r.Accounts))
	for _, a := range r.Accounts {
		out = append(out, Line{a.Words(r.Relay, now), a.Tone()})
	}
	return out
}

// Words says what the relay lacks of the account and what Hearth did:
// "bsky.network has not seen @alice's posts since Jan 2 15:04 UTC (3 hours
// ago); Hearth asked it to catch up 1 minute ago."
func (a RelayAccount) Words(relay string, now time.Time) string {
	who := "@" + a.Handle
	if a.Handle == "" {
		who = a.DID
	}
	mend := "Hearth asks it to catch up shortly"
	switch {
	case a.MendErr != "":
		mend = "Hearth could not announce the account again (" + a.MendErr + "); it tries again later"
	case !a.Mended.IsZero():
		mend = "Hearth asked it to catch up " + agoWords(now.Sub(a.Mended))
	}
	var s string
	switch a.State {
	case "behind":
		if a.Since.IsZero() {
			s = fmt.Sprintf("%s has an old copy of %s's posts; %s", relay, who, mend)
		} else {
			s = fmt.Sprintf("%s has not seen %s's posts since %s (%s); %s", relay, who,
				a.Since.UTC().Format("Jan 2 15:04 UTC"), agoWords(now.Sub(a.Since)), mend)
		}
	case "missing":
		s = fmt.Sprintf("%s does not know %s yet; %s", relay, who, mend)
	case "desynchronized":
		s = fmt.Sprintf("%s lost track of %s's posts (desynchronized); %s", relay, who, mend)
	case "deactivated", "deleted":
		s = fmt.Sprintf("%s thinks %s is %s, but it is active here; %s", relay, who, a.State, mend)
	case "inactive":
		s = fmt.Sprintf("%s does not count %s as active, but it is active here; %s", relay, who, mend)
	case "throttled":
		s = fmt.Sprintf("%s is holding back %s's posts (throttled): they arrive there late. Asking again does not help; it lifts by itself, or the relay's operator can raise the limit", relay, who)
	case "takendown":
		s = fmt.Sprintf("%s has taken %s down: those posts do not reach it. Only the relay's operator can undo that; write to them if it is a mistake", relay, who)
	case "suspended":
		s = fmt.Sprintf("%s has suspended %s: those posts do not reach it until the suspension ends, or its operator lifts it", relay, who)
	default:
		s = fmt.Sprintf("%s holds %s as %q; %s", relay, who, a.State, mend)
	}
	if a.CheckErr != "" {
		s += " (the latest check failed: " + a.CheckErr + ")"
	}
	return s + "."
}

// Tone is "error" for what Hearth cannot mend, "muted" while it mends.
func (a RelayAccount) Tone() string {
	switch a.State {
	case "throttled", "takendown", "suspended":
		return "error"
	}
	return "muted"
}
