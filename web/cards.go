package web

import (
	"fmt"
	"html/template"
	"strings"
	"time"
)

// Card states, from calm to loud.
const (
	Fine      = "fine"
	Attention = "needs attention"
	Broken    = "broken"
)

// BackupReminder is how old the last backup may grow before its card asks
// for a new one.
const BackupReminder = 7 * 24 * time.Hour

// Card is one line of the status page's summary: a name, a state and a
// plain sentence of what it means and what to do.
type Card struct {
	ID, Title, State, Text string
	At                     time.Time // when the news is from, if it has a time
}

// Class is the state as a CSS class.
func (c Card) Class() string { return strings.ReplaceAll(c.State, " ", "-") }

// cards judges the status. Each is fine, needs attention or broken, with a
// sentence saying so in words.
func cards(st Status, publicURL string) []Card {
	now := st.Now
	if now.IsZero() {
		now = time.Now()
	}
	return []Card{
		reachableCard(st, publicURL, now),
		identityCard(st.Identity, publicURL),
		relaysCard(st),
		emailCard(st.Mail),
		diskCard(st),
		backupsCard(st.LastBackup, now),
	}
}

// reachableCard says whether apps can reach the server: DNS, then HTTPS.
func reachableCard(st Status, publicURL string, now time.Time) Card {
	reach := Card{ID: "reachable", Title: "Reachable"}
	switch {
	case st.Trial:
		reach.State, reach.Text = Fine, "A trial answers on this computer only, at "+publicURL+": nothing outside can reach it, by design."
	case st.Address.Err != "":
		reach.State, reach.Text = Broken, "DNS has no address for "+st.Hostname+": add an A record for it at your domain's provider, pointing at your router's public address."
	case len(st.Address.Addresses) == 0:
		reach.State, reach.Text = Attention, "Hearth could not look "+st.Hostname+" up just now: if it lasts, check the name at your domain's provider."
	case st.TLS.Invalid != "":
		reach.State, reach.Text, reach.At = Broken, st.Hostname+" serves a certificate that apps refuse ("+st.TLS.Invalid+"): fix the HTTPS setting on the setup page, or the proxy in front of Hearth.", st.TLS.At
	case !st.TLS.NotAfter.IsZero() && st.TLS.NotAfter.Sub(now) < 14*24*time.Hour:
		reach.State, reach.Text, reach.At = Attention, fmt.Sprintf("%s answers over HTTPS, but its certificate ends in %s: check that renewal works (Hearth renews its own about a month ahead; a proxy or certbot renews the others).", st.Hostname, daysWords(st.TLS.NotAfter.Sub(now))), st.TLS.At
	default:
		reach.State, reach.Text = Fine, st.Hostname+" answers in DNS ("+strings.Join(st.Address.Addresses, ", ")+"); apps reach Hearth at "+publicURL+"."
		if !st.TLS.NotAfter.IsZero() {
			reach.Text += fmt.Sprintf(" Its certificate is valid, for %s more.", daysWords(st.TLS.NotAfter.Sub(now)))
			reach.At = st.TLS.At
		}
	}
	return reach
}

// identityCard says whether the owner's DID document points here.
func identityCard(ic IdentityCheck, publicURL string) Card {
	id := Card{ID: "identity", Title: "Identity"}
	switch {
	case ic.DID == "":
		id.State, id.Text = Attention, "There is no owner account yet: finish the setup wizard."
	case ic.Err != "":
		id.State, id.Text = Attention, "Hearth could not read your DID document from its directory just now: it tries again each time this page opens."
	case strings.TrimSuffix(ic.Endpoint, "/") != strings.TrimSuffix(publicURL, "/"):
		id.State, id.Text = Broken, "Your DID document points at "+orNothing(ic.Endpoint)+", not at this server: apps will not find your posts here. Ask for help, or move the account back."
	case ic.RecoveryKeys == 0:
		id.State, id.Text = Attention, "Your DID document points here. Add a recovery key on your account page, so that you, not only this box, hold your identity."
	default:
		id.State, id.Text = Fine, fmt.Sprintf("Your DID document points here, and you hold %s of your own.", plural(ic.RecoveryKeys, "recovery key"))
	}
	return id
}

// relaysCard sums up the relays; another card (template "relays") tells
// the detail.
func relaysCard(st Status) Card {
	rel := Card{ID: "relays-card", Title: "Relays"}
	failing, unsteady := 0, 0
	var lastOK time.Time
	for _, r := range st.Relays {
		if r.LastErr != "" {
			failing++
		}
		unsteady += len(r.Accounts)
		if r.LastOK.After(lastOK) {
			lastOK = r.LastOK
		}
	}
	switch {
	case st.Trial:
		rel.State, rel.Text = Fine, "A trial asks no relay to crawl it: it is not federated."
	case len(st.Relays) == 0:
		rel.State, rel.Text = Attention, "No relay is asked to crawl this server, so the network does not see its posts: set HEARTH_RELAYS, for example bsky.network."
	case failing == len(st.Relays):
		rel.State, rel.Text = Broken, "No relay took the crawl request yet: Hearth keeps asking; check below that the server is reachable from the Internet."
	case failing > 0:
		rel.State, rel.Text = Attention, fmt.Sprintf("%d of %s did not take the crawl request: Hearth keeps asking.", failing, plural(len(st.Relays), "relay"))
	case unsteady > 0:
		rel.State, rel.Text = Attention, "A relay holds some accounts out of step: the list below names them, and Hearth announces them again by itself where that helps."
	case lastOK.IsZero():
		rel.State, rel.Text = Fine, "The relays will be asked to crawl this server in a moment."
	default:
		rel.State, rel.Text, rel.At = Fine, "The relays were asked to crawl this server.", lastOK
	}
	return rel
}

// emailCard says how account mail goes out.
func emailCard(m MailStatus) Card {
	mail := Card{ID: "email", Title: "Email"}
	switch {
	case m.Configured && m.LastErr != "":
		mail.State, mail.Text, mail.At = Attention, "The last mail did not go out: check HEARTH_SMTP_URL and the mail server; Hearth keeps retrying.", m.LastErrAt
	case m.Configured:
		mail.State, mail.Text = Fine, "Account mail goes through "+m.Server+"."
	default:
		mail.State, mail.Text = Fine, "No mail server: sign-in and confirmation codes are shown on the account page instead."
	}
	return mail
}

// diskCard says whether the data file's disk has room.
func diskCard(st Status) Card {
	disk := Card{ID: "disk", Title: "Disk and data file"}
	switch {
	case st.DiskTotal > 0 && st.DiskFree < 200<<20:
		disk.State, disk.Text = Broken, fmt.Sprintf("Only %s free: Hearth stops taking writes soon. Free space, or move the data folder to a bigger disk.", humanBytes(st.DiskFree))
	case st.DiskTotal > 0 && st.DiskFree < st.DiskTotal/20:
		disk.State, disk.Text = Attention, fmt.Sprintf("%s free of %s: make room before it runs out.", humanBytes(st.DiskFree), humanBytes(st.DiskTotal))
	default:
		disk.State, disk.Text = Fine, fmt.Sprintf("The data file holds %s; %s free on its disk.", humanBytes(st.FileBytes), humanBytes(st.DiskFree))
	}
	return disk
}

// backupsCard says whether the last backup is recent enough.
func backupsCard(last, now time.Time) Card {
	bk := Card{ID: "backups", Title: "Backups"}
	switch {
	case last.IsZero():
		bk.State, bk.Text = Attention, "No backup yet: download one below and keep it on another device."
	case now.Sub(last) > BackupReminder:
		bk.State, bk.Text, bk.At = Attention, "The last backup is over a week old: download a new one below.", last
	default:
		bk.State, bk.Text, bk.At = Fine, "The last backup was downloaded", last
	}
	return bk
}

// daysWords says a duration in whole days, "less than a day" under one.
func daysWords(d time.Duration) string {
	if d < 24*time.Hour {
		return "less than a day"
	}
	return plural(int(d/(24*time.Hour)), "day")
}

func orNothing(s string) string {
	if s == "" {
		return "no server"
	}
	return s
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// agoWords says how long ago in words: "just now", "2 minutes ago".
func agoWords(d time.Duration) string {
	switch {
	case d < 0:
		return "just now"
	case d < 45*time.Second:
		return "just now"
	case d < 90*time.Minute:
		return plural(max(1, int(d.Round(time.Minute)/time.Minute)), "minute") + " ago"
	case d < 36*time.Hour:
		return plural(int(d.Round(time.Hour)/time.Hour), "hour") + " ago"
	}
	return plural(int(d.Round(24*time.Hour)/(24*time.Hour)), "day") + " ago"
}

// when renders a time as words, with the exact time on hover.
func when(t time.Time) template.HTML {
	if t.IsZero() {
		return "never"
	}
	exact := t.UTC().Format("2006-01-02 15:04:05 UTC")
	return template.HTML(fmt.Sprintf(`<time datetime="%s" title="%s">%s</time>`,
		t.UTC().Format(time.RFC3339), exact, template.HTMLEscapeString(agoWords(time.Since(t)))))
}

// countWords writes a count with thousands separators.
func countWords(n any) string {
	var v int64
	switch x := n.(type) {
	case int:
		v = int64(x)
	case int64:
		v = x
	}
	s := fmt.Sprint(v)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
