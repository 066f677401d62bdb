package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/identity/account"
)

// unlocked is a browser past the setup code.
func unlocked(t *testing.T, fb *fakeBackend) *browser {
	t.Helper()
	b := newBrowser(t, New(fb, nil).Handler())
	b.post("/setup/unlock", url.Values{"csrf": {b.csrf("/setup")}, "code": {"open-sesame"}}, b.url)
	return b
}

// Issue 17: a refused account step wiped every field, and said
// "Handle TLD is not allowed" with no next step.
func TestWizardOwnerErrorKeepsWhatWasTyped(t *testing.T) {
	fb := &fakeBackend{host: "pds.example.com", chosen: true,
		ownerErr: fmt.Errorf("Handle TLD is not allowed: %w", account.ErrUnsupportedDomain)}
	b := unlocked(t, fb)
	_, body := b.post("/setup/owner", url.Values{"csrf": {b.csrf("/setup")}, "name": {"alice"}, "domain": {".pds.example.com"},
		"email": {"alice@example.com"}, "password": {"secret password"}, "password2": {"secret password"}}, b.url)
	for _, want := range []string{`value="alice"`, `value="alice@example.com"`, "<option selected>.pds.example.com", "pick a name"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(body, "secret password") || strings.Contains(body, "TLD") {
		t.Error("the page shows the password or the raw refusal")
	}
}

// Issue 17: an unreachable PLC directory showed a raw Go error chain.
func TestWizardPLCErrorIsASentence(t *testing.T) {
	raw := "plc: submit did:plc:abc: Post \"https://plc.directory/did:plc:abc\": dial tcp 1.2.3.4:443: connect: connection refused"
	fb := &fakeBackend{host: "pds.example.com", chosen: true, ownerErr: fmt.Errorf("%s: %w", raw, account.ErrUpstream)}
	b := unlocked(t, fb)
	_, body := b.post("/setup/owner", url.Values{"csrf": {b.csrf("/setup")}, "name": {"alice"}, "domain": {".pds.example.com"},
		"email": {"alice@example.com"}, "password": {"secret password"}, "password2": {"secret password"}}, b.url)
	if strings.Contains(body, "dial tcp") || strings.Contains(body, "plc:") {
		t.Fatal("the raw error reaches the page")
	}
	if !strings.Contains(body, "PLC directory") || !strings.Contains(body, "try again") {
		t.Fatalf("no sentence with a next step: %s", body)
	}
}

// Issue 17: step 2 had no way back, and the handle's pattern was rejected
// by Chromium ("Invalid character class"), which then checked nothing.
func TestWizardOwnerStepWayBackAndPattern(t *testing.T) {
	b := unlocked(t, &fakeBackend{host: "pds.example.com", chosen: true})
	_, body := b.get("/setup")
	if !strings.Contains(body, `href="/setup?step=address"`) {
		t.Fatal("the account step has no way back to the address")
	}
	m := regexp.MustCompile(`id="name"[^>]*pattern="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no pattern on the handle field")
	}
	// In a v-flag class (what browsers use for pattern) a bare - before ]
	// is a syntax error; it must be escaped.
	if regexp.MustCompile(`[^\\]-\]`).MatchString(m[1]) {
		t.Fatalf("pattern %q has an unescaped hyphen in a class", m[1])
	}
	re := regexp.MustCompile("^(?:" + m[1] + ")$")
	if !re.MatchString("alice-b") || re.MatchString("-alice") || re.MatchString("al") {
		t.Fatalf("pattern %q checks the wrong thing", m[1])
	}
}

// Issue 17: localhost was accepted without a word; now the first step
// offers a trial on this computer or the Internet, and a trial can be left.
func TestWizardTrialPath(t *testing.T) {
	fb := &fakeBackend{host: "localhost"}
	b := unlocked(t, fb)
	_, body := b.get("/setup")
	if !strings.Contains(body, "Try it on this computer") || !strings.Contains(body, "Put it on the Internet") {
		t.Fatalf("no choice of paths: %s", body)
	}
	if strings.Contains(body, `value="localhost"`) {
		t.Fatal("the Internet path offers localhost as a hostname")
	}
	if _, body := b.post("/setup/trial", url.Values{"csrf": {b.csrf("/setup")}}, b.url); !strings.Contains(body, "restarting") {
		t.Fatalf("trial: %s", body)
	}
	_, body = b.get("/setup")
	if !strings.Contains(body, "<option>.test</option>") || !strings.Contains(body, "Not federated") {
		t.Fatalf("the trial's account step: %s", body)
	}
	b.post("/setup/owner", url.Values{"csrf": {b.csrf("/setup")}, "name": {"alice"}, "domain": {".test"},
		"email": {"alice@example.com"}, "password": {"secret password"}, "password2": {"secret password"}}, b.url)
	_, body = b.get("/status")
	if !strings.Contains(body, "Put it on the Internet") || !strings.Contains(body, "stay here, local") {
		t.Fatalf("the status page of a trial: %s", body)
	}
	b.post("/setup/internet", url.Values{"csrf": {b.csrf("/status")}}, b.url)
	if _, body := b.get("/setup"); fb.trial || !strings.Contains(body, "Where Hearth lives") {
		t.Fatalf("after leaving the trial: %s", body)
	}
}

func TestFavicon(t *testing.T) {
	b := newBrowser(t, New(&fakeBackend{}, nil).Handler())
	res, body := b.get("/favicon.ico")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "image/svg+xml") || !strings.Contains(body, "<svg") {
		t.Fatalf("favicon: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
}

// Issue 17: with no admin password known, an admin login said only
// "wrong password".
func TestAdminLoginSaysWhereThePasswordIs(t *testing.T) {
	b := newBrowser(t, New(&fakeBackend{owner: "did:plc:owner", password: "x"}, nil).Handler())
	_, body := b.post("/login", url.Values{"csrf": {b.csrf("/login")}, "identifier": {"admin"}, "password": {"guess"}}, b.url)
	if !strings.Contains(body, "admin-password") || !strings.Contains(body, `value="admin"`) {
		t.Fatalf("admin login: %s", body)
	}
}

// Issue 17: the status page said "latest event 1796112934644", had no
// copy buttons, no DID, a repo download named repo.car, and no cards.
func TestStatusPageCards(t *testing.T) {
	fb := &fakeBackend{host: "pds.example.com", chosen: true, owner: "did:plc:owner", password: "a long password"}
	b := newBrowser(t, New(fb, nil).Handler())
	b.post("/login", url.Values{"csrf": {b.csrf("/login")}, "identifier": {"me"}, "password": {"a long password"}}, b.url)
	_, body := b.get("/status")
	for _, want := range []string{"Reachable", "Identity", "Relays", "Email", "Disk and data file", "Backups",
		"No backup yet", `data-copy="did:plc:owner"`, "did:plc:owner", "firehose events kept", "Records and storage", "Requests and firehose events"} {
		if !strings.Contains(body, want) {
			t.Errorf("the status page lacks %q", want)
		}
	}
	res, _ := b.get("/status/repo?did=did:plc:owner")
	if cd := res.Header.Get("Content-Disposition"); !strings.Contains(cd, "me.example.com-repo-") || strings.Contains(cd, "repo.car") && !strings.Contains(cd, "-repo-") {
		t.Errorf("repo download named %q", cd)
	}
}

func TestCardsBackupReminder(t *testing.T) {
	now := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	st := Status{Now: now, LastBackup: now.Add(-8 * 24 * time.Hour), Hostname: "pds.example.com",
		Address: AddressReport{Addresses: []string{"203.0.113.5"}}, Identity: IdentityCheck{DID: "did:plc:x", Endpoint: "https://pds.example.com", RecoveryKeys: 1}}
	got := map[string]Card{}
	for _, c := range cards(st, "https://pds.example.com") {
		got[c.ID] = c
	}
	if c := got["backups"]; c.State != Attention || !strings.Contains(c.Text, "over a week") {
		t.Errorf("an 8-day-old backup: %+v", c)
	}
	st.LastBackup = now.Add(-time.Hour)
	for _, c := range cards(st, "https://pds.example.com") {
		if c.ID == "backups" && c.State != Fine {
			t.Errorf("an hour-old backup: %+v", c)
		}
	}
	if c := got["identity"]; c.State != Fine {
		t.Errorf("identity: %+v", c)
	}
	st.Identity.Endpoint = "https://elsewhere.example"
	for _, c := range cards(st, "https://pds.example.com") {
		if c.ID == "identity" && c.State != Broken {
			t.Errorf("a DID pointing elsewhere: %+v", c)
		}
	}
}

func TestWordsForTimesAndCounts(t *testing.T) {
	for d, want := range map[time.Duration]string{10 * time.Second: "just now", 2 * time.Minute: "2 minutes ago",
		3 * time.Hour: "3 hours ago", 72 * time.Hour: "3 days ago"} {
		if got := agoWords(d); got != want {
			t.Errorf("agoWords(%v) = %q, want %q", d, got, want)
		}
	}
	if h := string(when(time.Now().Add(-2 * time.Minute))); !strings.Contains(h, "2 minutes ago") || !strings.Contains(h, `title="20`) {
		t.Errorf("when: %s", h)
	}
	if got := countWords(int64(1234567)); got != "1,234,567" {
		t.Errorf("countWords = %q", got)
	}
}

// The charts draw from the first minutes: two fine samples suffice.
func TestChartsFromTheFirstMinutes(t *testing.T) {
	t0 := time.Now().Add(-2 * time.Minute)
	h := []Sample{{Time: t0, Records: 1}, {Time: t0.Add(time.Minute), Records: 2, Requests: 5, Events: 1}, {Time: t0.Add(2 * time.Minute), Records: 3, Requests: 9, Events: 2}}
	if c := string(chart(h)); !strings.Contains(c, "<polyline") || !strings.Contains(c, "2 minutes") {
		t.Errorf("chart: %s", c)
	}
	if c := string(activity(h)); !strings.Contains(c, "<polyline") || !strings.Contains(c, "9 a sample") {
		t.Errorf("activity: %s", c)
	}
}

func TestCountedWords(t *testing.T) {
	p := New(&fakeBackend{}, nil)
	var b strings.Builder
	for _, tc := range []struct {
		n    int
		want string
	}{{0, "0 records"}, {1, "1 record"}, {1234, "1,234 records"}} {
		b.Reset()
		tmpl := template.Must(p.tmpl.Clone())
		template.Must(tmpl.New("t").Parse(`{{counted . "record"}}`))
		if err := tmpl.ExecuteTemplate(&b, "t", tc.n); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("counted %d = %q, want %q", tc.n, b.String(), tc.want)
		}
	}
}

// The address step saves the HTTPS choice with the name, keeps what was
// typed when the choice is refused, and leaves alone a mode fixed where
// Hearth starts.
func TestWizardAddressSavesTLSChoice(t *testing.T) {
	fb := &fakeBackend{host: "localhost", tlsErr: errors.New("There is no file at /x.pem or /y.pem: check the paths, then try again.")}
	b := unlocked(t, fb)
	form := url.Values{"csrf": {b.csrf("/setup")}, "hostname": {"pds.example.com"}, "action": {"save"},
		"tls": {"files"}, "tls_cert": {"/x.pem"}, "tls_key": {"/y.pem"}}
	_, body := b.post("/setup/address", form, b.url)
	for _, want := range []string{"There is no file at /x.pem", `value="/x.pem"`, `value="files" form="address-form" checked`} {
		if !strings.Contains(body, want) {
			t.Errorf("a refused choice: the page lacks %q", want)
		}
	}
	if fb.chosen {
		t.Fatal("the hostname was saved although the HTTPS choice was refused")
	}
	fb.tlsErr = nil
	form.Set("csrf", b.csrf("/setup"))
	if _, body := b.post("/setup/address", form, b.url); !strings.Contains(body, "restarting") || fb.tls.Mode != "files" || fb.tls.Cert != "/x.pem" || !fb.chosen {
		t.Fatalf("an accepted choice: %+v, page %s", fb.tls, body)
	}

	fixed := &fakeBackend{host: "localhost", tls: TLSChoice{Mode: "auto", Fixed: true}}
	b = unlocked(t, fixed)
	_, body = b.get("/setup")
	if !strings.Contains(body, "<fieldset disabled>") || !strings.Contains(body, "HEARTH_TLS=auto") {
		t.Fatalf("a fixed mode is offered for change: %s", body)
	}
	b.post("/setup/address", url.Values{"csrf": {b.csrf("/setup")}, "hostname": {"pds.example.com"}, "action": {"save"}, "tls": {"off"}}, b.url)
	if fixed.tls.Mode != "auto" || !fixed.tls.Fixed {
		t.Fatalf("the wizard changed a fixed mode: %+v", fixed.tls)
	}
}

// The Reachable card reads the certificate the public name serves.
func TestCardsReachableChecksTheCertificate(t *testing.T) {
	now := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	base := Status{Now: now, Hostname: "pds.example.com", Address: AddressReport{Addresses: []string{"203.0.113.5"}}}
	tests := []struct {
		tls   TLSCheck
		state string
		want  string
	}{
		{TLSCheck{At: now, NotAfter: now.Add(60 * 24 * time.Hour)}, Fine, "Its certificate is valid, for 60 days more."},
		{TLSCheck{At: now, NotAfter: now.Add(5 * 24 * time.Hour)}, Attention, "its certificate ends in 5 days"},
		{TLSCheck{At: now, Invalid: "x509: certificate signed by unknown authority"}, Broken, "serves a certificate that apps refuse (x509: certificate signed by unknown authority)"},
		{TLSCheck{At: now, Unreached: "connection refused"}, Fine, "answers in DNS"},
		{TLSCheck{}, Fine, "answers in DNS"},
	}
	for _, tt := range tests {
		st := base
		st.TLS = tt.tls
		c := cards(st, "https://pds.example.com")[0]
		if c.ID != "reachable" || c.State != tt.state || !strings.Contains(c.Text, tt.want) {
			t.Errorf("%+v: %s %q, want %s %q", tt.tls, c.State, c.Text, tt.state, tt.want)
		}
	}
}
