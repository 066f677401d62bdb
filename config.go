package main

import (
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/acme/autocert"

	"github.com/hearth-pds/hearth/identity/clientip"
	"github.com/hearth-pds/hearth/identity/egress"
)

// config is every setting; each is a flag and a HEARTH_* variable.
type config struct {
	Data, Listen, Hostname, PublicURL, HandleDomains, PLCURL string
	AdminPassword, Relays                                    string
	AppView, Chat, ReportService                             string
	SMTPURL, EmailFrom                                       string
	PrivacyPolicyURL, TermsOfServiceURL, ContactEmail        string
	InviteRequired, Dev, RateLimits                          bool
	Trial                                                    bool // the wizard's local trial (trial.go)
	EventRetention, RelayCheckInterval                       time.Duration
	MetricsListen                                            string
	MetricsPublic                                            bool
	BlobLimit                                                int64
	MaxConns, MaxConnsPerIP                                  int
	MaxSubscribers, MaxSubscribersPerIP                      int
	// TLS and its settings: see tls.go.
	TLS, ACMEDirectory, ACMEEmail, TLSCert, TLSKey, HTTPSListen, HTTPListen string
	TrustedProxies                                                          string
	trusted                                                                 *clientip.Trusted
	acmeRoots                                                               *x509.CertPool // tests: the test CA's roots
	// OAuth serves the OAuth authorization server (oauth.go).
	OAuth bool
	// DevResolve maps names to addresses for the egress dialer, in dev
	// mode only (see egress.Options.Hosts): a test app on client.test.
	DevResolve string
	devHosts   map[string]netip.Addr
	// explicit names the settings given by flag or environment; those
	// override what the setup wizard stored.
	explicit map[string]bool
}

// loadConfig reads every setting: a flag, over its HEARTH_* variable, over
// the default; then checks them and derives those left to the hostname.
func loadConfig(args []string, getenv func(string) string) (config, error) {
	c := config{explicit: map[string]bool{}}
	fs := flag.NewFlagSet("hearth", flag.ContinueOnError)
	t := &flagTable{fs: fs, getenv: getenv, explicit: c.explicit}
	f := c.define(t)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) { c.explicit[f.Name] = true })
	if t.envErr != nil {
		return c, t.envErr
	}
	if err := c.check(f); err != nil {
		return c, err
	}
	c.derive()
	return c, nil
}

// textSettings are the settings read as text, so that check can word its
// own error.
type textSettings struct{ blobLimit, retention, checkEvery *string }

// define declares every setting as a flag of t.
func (c *config) define(t *flagTable) textSettings {
	t.str(&c.Data, "data", "HEARTH_DATA", "./data", "folder holding the bbolt file")
	t.str(&c.Listen, "listen", "HEARTH_LISTEN", "127.0.0.1:2583", "listen address")
	t.str(&c.Hostname, "hostname", "HEARTH_HOSTNAME", "localhost", "public hostname; the service DID is did:web:+hostname")
	t.str(&c.PublicURL, "public-url", "HEARTH_PUBLIC_URL", "", "public base URL (default https://+hostname, http:// for localhost)")
	t.str(&c.HandleDomains, "handle-domains", "HEARTH_HANDLE_DOMAINS", "", "comma list of handle suffixes offered (default .+hostname)")
	t.str(&c.PLCURL, "plc-url", "HEARTH_PLC_URL", "https://plc.directory", "PLC directory")
	t.str(&c.AdminPassword, "admin-password", "HEARTH_ADMIN_PASSWORD", "", "admin Basic-auth password (default: generated on first start and kept in <data>/admin-password)")
	t.str(&c.AppView, "appview", "HEARTH_APPVIEW", "did:web:api.bsky.app#bsky_appview", "AppView for app.bsky.* methods (did#service)")
	t.str(&c.Chat, "chat", "HEARTH_CHAT", "did:web:api.bsky.chat#bsky_chat", "chat service for chat.bsky.* methods (did#service)")
	t.str(&c.ReportService, "report-service", "HEARTH_REPORT_SERVICE", "did:plc:ar7c4by46qjdydhdevvrndac#atproto_labeler", "moderation service for createReport (did#service)")
	t.str(&c.SMTPURL, "smtp-url", "HEARTH_SMTP_URL", "", "mail server for account codes: smtp://user:pass@host:587 or smtps://user:pass@host:465 (none: codes are shown on the account page)")
	t.str(&c.EmailFrom, "email-from", "HEARTH_EMAIL_FROM", "", "sender address of account mail (default noreply@+hostname)")
	t.str(&c.PrivacyPolicyURL, "privacy-policy-url", "HEARTH_PRIVACY_POLICY_URL", "", "privacy policy link offered to apps (none when empty)")
	t.str(&c.TermsOfServiceURL, "terms-of-service-url", "HEARTH_TERMS_OF_SERVICE_URL", "", "terms of service link offered to apps (none when empty)")
	t.str(&c.ContactEmail, "contact-email", "HEARTH_CONTACT_EMAIL", "", "contact address offered to apps (none when empty)")
	t.boolean(&c.InviteRequired, "invite-required", "HEARTH_INVITE_REQUIRED", true, "invite codes needed to sign up")
	t.str(&c.Relays, "relays", "HEARTH_RELAYS", "bsky.network", "comma list of relay hosts to ask to crawl; none (or set empty) for no crawling")
	t.str(&c.TLS, "tls", "HEARTH_TLS", tlsOff, "HTTPS: auto (certificates from an ACME CA), files (HEARTH_TLS_CERT and HEARTH_TLS_KEY) or off (a proxy in front)")
	t.str(&c.ACMEDirectory, "acme-directory", "HEARTH_ACME_DIRECTORY", autocert.DefaultACMEDirectory, "ACME directory of the CA, for -tls auto")
	t.str(&c.ACMEEmail, "acme-email", "HEARTH_ACME_EMAIL", "", "contact address given to the CA, for -tls auto (optional)")
	t.str(&c.TLSCert, "tls-cert", "HEARTH_TLS_CERT", "", "certificate chain (PEM), for -tls files; reread on SIGHUP")
	t.str(&c.TLSKey, "tls-key", "HEARTH_TLS_KEY", "", "private key (PEM), for -tls files")
	t.str(&c.HTTPSListen, "https-listen", "HEARTH_HTTPS_LISTEN", ":443", "HTTPS listen address, for -tls auto or files")
	t.str(&c.HTTPListen, "http-listen", "HEARTH_HTTP_LISTEN", ":80", "HTTP listen address (ACME challenges, redirects to HTTPS), for -tls auto or files")
	t.str(&c.TrustedProxies, "trusted-proxies", "HEARTH_TRUSTED_PROXIES", clientip.Loopback, "comma list of proxy addresses or CIDRs whose X-Forwarded-For and X-Forwarded-Proto are believed")
	t.str(&c.MetricsListen, "metrics-listen", "HEARTH_METRICS_LISTEN", "", "address of the Prometheus /metrics listener, loopback unless -metrics-public (none when empty)")
	t.boolean(&c.MetricsPublic, "metrics-public", "HEARTH_METRICS_PUBLIC", false, "let the metrics listener take a non-loopback address")
	t.boolean(&c.Dev, "dev", "HEARTH_DEV", false, "dev mode: http and localhost allowed everywhere")
	t.str(&c.DevResolve, "dev-resolve", "HEARTH_DEV_RESOLVE", "", "dev mode only: comma list of name=address answered in place of DNS for requests out, like client.test=127.0.0.1")
	t.boolean(&c.RateLimits, "rate-limits", "HEARTH_RATE_LIMITS", true, "enforce per-IP and per-account rate limits")
	t.boolean(&c.OAuth, "oauth", "HEARTH_OAUTH", true, "serve OAuth sign-in for apps (/oauth/*); false turns it off")
	t.count(&c.MaxConns, "max-conns", "HEARTH_MAX_CONNS", 512, "most open connections, 0 for no cap")
	t.count(&c.MaxConnsPerIP, "max-conns-per-ip", "HEARTH_MAX_CONNS_PER_IP", 64, "most open connections from one address (loopback exempt), 0 for no cap")
	t.count(&c.MaxSubscribers, "max-subscribers", "HEARTH_MAX_SUBSCRIBERS", 100, "most firehose subscribers, 0 for no cap")
	t.count(&c.MaxSubscribersPerIP, "max-subscribers-per-ip", "HEARTH_MAX_SUBSCRIBERS_PER_IP", 10, "most firehose subscribers from one address (loopback exempt), 0 for no cap")
	return textSettings{
		blobLimit:  t.text("blob-limit", "HEARTH_BLOB_LIMIT", "100000000", "largest blob accepted, in bytes"),
		retention:  t.text("event-retention", "HEARTH_EVENT_RETENTION", "72h", "how long firehose events are kept for replay"),
		checkEvery: t.text("relay-check-interval", "HEARTH_RELAY_CHECK_INTERVAL", defaultCheckInterval.String(), "how often each relay is asked how it sees this host"),
	}
}

// check refuses settings out of range, and parses those read as text.
func (c *config) check(f textSettings) error {
	if c.MaxConns < 0 || c.MaxConnsPerIP < 0 || c.MaxSubscribers < 0 || c.MaxSubscribersPerIP < 0 {
		return errors.New("connection caps: want a count, 0 for no limit")
	}
	for _, u := range []struct{ name, v string }{{"privacy policy URL", c.PrivacyPolicyURL}, {"terms of service URL", c.TermsOfServiceURL}} {
		if p, err := url.Parse(u.v); u.v != "" && (err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "") {
			return fmt.Errorf("%s %q: want a full http(s) address, like https://example.com/privacy", u.name, u.v)
		}
	}
	if err := checkHostname(c.Hostname); err != nil {
		return fmt.Errorf("hostname: %w", err)
	}
	if c.ContactEmail != "" && !strings.Contains(c.ContactEmail, "@") {
		return fmt.Errorf("contact email %q: want an address, like you@example.com", c.ContactEmail)
	}
	d, err := time.ParseDuration(*f.retention)
	if err != nil || d < time.Minute {
		return fmt.Errorf("event retention %q: want a duration of at least 1m, like 72h", *f.retention)
	}
	c.EventRetention = d
	if err := c.checkTLS(); err != nil {
		return err
	}
	if c.trusted, err = clientip.ParseTrusted(c.TrustedProxies); err != nil {
		return err
	}
	if c.RelayCheckInterval, err = time.ParseDuration(*f.checkEvery); err != nil || c.RelayCheckInterval < time.Second {
		return fmt.Errorf("relay check interval %q: want a duration of at least 1s, like 5m", *f.checkEvery)
	}
	if err := checkMetricsListen(c.MetricsListen, c.MetricsPublic); err != nil {
		return err
	}
	if c.BlobLimit, err = strconv.ParseInt(*f.blobLimit, 10, 64); err != nil || c.BlobLimit < 1 {
		return fmt.Errorf("blob limit %q: want a positive number of bytes", *f.blobLimit)
	}
	if c.devHosts, err = egress.ParseHosts(c.DevResolve); err != nil {
		return fmt.Errorf("dev resolve: %w", err)
	}
	return nil
}

// flagTable declares settings on fs, each a flag whose default its HEARTH_*
// variable replaces. A string set by its variable counts as explicit.
type flagTable struct {
	fs       *flag.FlagSet
	getenv   func(string) string
	explicit map[string]bool
	envErr   error // counts whose variable is not a count
}

func (t *flagTable) str(p *string, name, env, def, usage string) {
	if v := t.getenv(env); v != "" {
		def = v
		t.explicit[name] = true
	}
	t.fs.StringVar(p, name, def, usage+" ($"+env+")")
}

func (t *flagTable) boolean(p *bool, name, env string, def bool, usage string) {
	if v := t.getenv(env); v != "" {
		def = v == "1" || strings.EqualFold(v, "true") || strings.EqualFold(v, "yes")
	}
	t.fs.BoolVar(p, name, def, usage+" ($"+env+")")
}

func (t *flagTable) count(p *int, name, env string, def int, usage string) {
	if v := t.getenv(env); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			t.envErr = errors.Join(t.envErr, fmt.Errorf("$%s %q: want a count, 0 for no limit", env, v))
		}
		def = n
	}
	t.fs.IntVar(p, name, def, usage+" ($"+env+")")
}

// text declares a setting read as text, parsed by check.
func (t *flagTable) text(name, env, def, usage string) *string {
	v := def
	if e := t.getenv(env); e != "" {
		v = e
	}
	t.fs.Func(name, usage+" (default "+def+") ($"+env+")", func(s string) error { v = s; return nil })
	return &v
}

// derive fills the settings that default from the hostname.
func (c *config) derive() {
	if !c.explicit["public-url"] {
		scheme := "https://"
		if c.Hostname == "localhost" || strings.HasPrefix(c.Hostname, "localhost:") {
			scheme = "http://"
		}
		c.PublicURL = scheme + c.Hostname
		// A local name is reached at the port Hearth listens on.
		if _, port, err := net.SplitHostPort(c.Listen); err == nil && scheme == "http://" && !strings.Contains(c.Hostname, ":") && port != "80" {
			c.PublicURL += ":" + port
		}
	}
	if !c.explicit["handle-domains"] {
		c.HandleDomains = "." + c.Hostname
	}
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
