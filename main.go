// Command hearth is an AT Protocol Personal Data Server for a home device:
// one static binary, one bbolt data file.
package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/acme/autocert"

	"github.com/hearth-pds/hearth/blob"
	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/identity/account/mail"
	"github.com/hearth-pds/hearth/identity/clientip"
	"github.com/hearth-pds/hearth/identity/egress"
	"github.com/hearth-pds/hearth/identity/plc"
	"github.com/hearth-pds/hearth/identity/resolve"
	"github.com/hearth-pds/hearth/store"
	"github.com/hearth-pds/hearth/web"
	"github.com/hearth-pds/hearth/xrpc"
	"github.com/hearth-pds/hearth/xrpc/lexicon"
	"github.com/hearth-pds/hearth/xrpc/stream"
)

// version is stamped by build/ with -ldflags "-X main.version=…".
var version = "dev"

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
	// explicit names the settings given by flag or environment; those
	// override what the setup wizard stored.
	explicit map[string]bool
}

func main() {
	os.Exit(runCommand(os.Args[1:], os.Stdout, os.Stderr, getenv))
}

// serveCommand is "hearth [serve] [flags]": run the daemon until a signal.
func serveCommand(args []string, stderr io.Writer, getenv func(string) string) error {
	cfg, err := loadConfig(args, getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		log.Error("hearth stopped", "err", err)
		return errFailed
	}
	return nil
}

func loadConfig(args []string, getenv func(string) string) (config, error) {
	var c config
	fs := flag.NewFlagSet("hearth", flag.ContinueOnError)
	c.explicit = map[string]bool{}
	str := func(p *string, name, env, def, usage string) {
		if v := getenv(env); v != "" {
			def = v
			c.explicit[name] = true
		}
		fs.StringVar(p, name, def, usage+" ($"+env+")")
	}
	boolean := func(p *bool, name, env string, def bool, usage string) {
		if v := getenv(env); v != "" {
			def = v == "1" || strings.EqualFold(v, "true") || strings.EqualFold(v, "yes")
		}
		fs.BoolVar(p, name, def, usage+" ($"+env+")")
	}
	str(&c.Data, "data", "HEARTH_DATA", "./data", "folder holding the bbolt file")
	str(&c.Listen, "listen", "HEARTH_LISTEN", "127.0.0.1:2583", "listen address")
	str(&c.Hostname, "hostname", "HEARTH_HOSTNAME", "localhost", "public hostname; the service DID is did:web:+hostname")
	str(&c.PublicURL, "public-url", "HEARTH_PUBLIC_URL", "", "public base URL (default https://+hostname, http:// for localhost)")
	str(&c.HandleDomains, "handle-domains", "HEARTH_HANDLE_DOMAINS", "", "comma list of handle suffixes offered (default .+hostname)")
	str(&c.PLCURL, "plc-url", "HEARTH_PLC_URL", "https://plc.directory", "PLC directory")
	str(&c.AdminPassword, "admin-password", "HEARTH_ADMIN_PASSWORD", "", "admin Basic-auth password (default: generated on first start and kept in <data>/admin-password)")
	str(&c.AppView, "appview", "HEARTH_APPVIEW", "did:web:api.bsky.app#bsky_appview", "AppView for app.bsky.* methods (did#service)")
	str(&c.Chat, "chat", "HEARTH_CHAT", "did:web:api.bsky.chat#bsky_chat", "chat service for chat.bsky.* methods (did#service)")
	str(&c.ReportService, "report-service", "HEARTH_REPORT_SERVICE", "did:plc:ar7c4by46qjdydhdevvrndac#atproto_labeler", "moderation service for createReport (did#service)")
	str(&c.SMTPURL, "smtp-url", "HEARTH_SMTP_URL", "", "mail server for account codes: smtp://user:pass@host:587 or smtps://user:pass@host:465 (none: codes are shown on the account page)")
	str(&c.EmailFrom, "email-from", "HEARTH_EMAIL_FROM", "", "sender address of account mail (default noreply@+hostname)")
	str(&c.PrivacyPolicyURL, "privacy-policy-url", "HEARTH_PRIVACY_POLICY_URL", "", "privacy policy link offered to apps (none when empty)")
	str(&c.TermsOfServiceURL, "terms-of-service-url", "HEARTH_TERMS_OF_SERVICE_URL", "", "terms of service link offered to apps (none when empty)")
	str(&c.ContactEmail, "contact-email", "HEARTH_CONTACT_EMAIL", "", "contact address offered to apps (none when empty)")
	boolean(&c.InviteRequired, "invite-required", "HEARTH_INVITE_REQUIRED", true, "invite codes needed to sign up")
	str(&c.Relays, "relays", "HEARTH_RELAYS", "bsky.network", "comma list of relay hosts to ask to crawl; none (or set empty) for no crawling")
	str(&c.TLS, "tls", "HEARTH_TLS", tlsOff, "HTTPS: auto (certificates from an ACME CA), files (HEARTH_TLS_CERT and HEARTH_TLS_KEY) or off (a proxy in front)")
	str(&c.ACMEDirectory, "acme-directory", "HEARTH_ACME_DIRECTORY", autocert.DefaultACMEDirectory, "ACME directory of the CA, for -tls auto")
	str(&c.ACMEEmail, "acme-email", "HEARTH_ACME_EMAIL", "", "contact address given to the CA, for -tls auto (optional)")
	str(&c.TLSCert, "tls-cert", "HEARTH_TLS_CERT", "", "certificate chain (PEM), for -tls files; reread on SIGHUP")
	str(&c.TLSKey, "tls-key", "HEARTH_TLS_KEY", "", "private key (PEM), for -tls files")
	str(&c.HTTPSListen, "https-listen", "HEARTH_HTTPS_LISTEN", ":443", "HTTPS listen address, for -tls auto or files")
	str(&c.HTTPListen, "http-listen", "HEARTH_HTTP_LISTEN", ":80", "HTTP listen address (ACME challenges, redirects to HTTPS), for -tls auto or files")
	str(&c.TrustedProxies, "trusted-proxies", "HEARTH_TRUSTED_PROXIES", clientip.Loopback, "comma list of proxy addresses or CIDRs whose X-Forwarded-For and X-Forwarded-Proto are believed")
	str(&c.MetricsListen, "metrics-listen", "HEARTH_METRICS_LISTEN", "", "address of the Prometheus /metrics listener, loopback unless -metrics-public (none when empty)")
	boolean(&c.MetricsPublic, "metrics-public", "HEARTH_METRICS_PUBLIC", false, "let the metrics listener take a non-loopback address")
	boolean(&c.Dev, "dev", "HEARTH_DEV", false, "dev mode: http and localhost allowed everywhere")
	boolean(&c.RateLimits, "rate-limits", "HEARTH_RATE_LIMITS", true, "enforce per-IP and per-account rate limits")
	boolean(&c.OAuth, "oauth", "HEARTH_OAUTH", true, "serve OAuth sign-in for apps (/oauth/*); false turns it off")
	var envErr error
	count := func(p *int, name, env string, def int, usage string) {
		if v := getenv(env); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				envErr = errors.Join(envErr, fmt.Errorf("$%s %q: want a count, 0 for no limit", env, v))
			}
			def = n
		}
		fs.IntVar(p, name, def, usage+" ($"+env+")")
	}
	count(&c.MaxConns, "max-conns", "HEARTH_MAX_CONNS", 512, "most open connections, 0 for no cap")
	count(&c.MaxConnsPerIP, "max-conns-per-ip", "HEARTH_MAX_CONNS_PER_IP", 64, "most open connections from one address (loopback exempt), 0 for no cap")
	count(&c.MaxSubscribers, "max-subscribers", "HEARTH_MAX_SUBSCRIBERS", 100, "most firehose subscribers, 0 for no cap")
	count(&c.MaxSubscribersPerIP, "max-subscribers-per-ip", "HEARTH_MAX_SUBSCRIBERS_PER_IP", 10, "most firehose subscribers from one address (loopback exempt), 0 for no cap")
	blobLimit := "100000000"
	if v := getenv("HEARTH_BLOB_LIMIT"); v != "" {
		blobLimit = v
	}
	fs.Func("blob-limit", "largest blob accepted, in bytes (default 100000000) ($HEARTH_BLOB_LIMIT)", func(v string) error {
		blobLimit = v
		return nil
	})
	checkEvery := durationFlag(fs, getenv, "relay-check-interval", "HEARTH_RELAY_CHECK_INTERVAL", defaultCheckInterval.String(), "how often each relay is asked how it sees this host")
	retention := "72h"
	if v := getenv("HEARTH_EVENT_RETENTION"); v != "" {
		retention = v
	}
	fs.Func("event-retention", "how long firehose events are kept for replay (default 72h) ($HEARTH_EVENT_RETENTION)", func(v string) error {
		retention = v
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) { c.explicit[f.Name] = true })
	if envErr != nil {
		return c, envErr
	}
	if c.MaxConns < 0 || c.MaxConnsPerIP < 0 || c.MaxSubscribers < 0 || c.MaxSubscribersPerIP < 0 {
		return c, errors.New("connection caps: want a count, 0 for no limit")
	}
	for _, u := range []struct{ name, v string }{{"privacy policy URL", c.PrivacyPolicyURL}, {"terms of service URL", c.TermsOfServiceURL}} {
		if p, err := url.Parse(u.v); u.v != "" && (err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "") {
			return c, fmt.Errorf("%s %q: want a full http(s) address, like https://example.com/privacy", u.name, u.v)
		}
	}
	if err := checkHostname(c.Hostname); err != nil {
		return c, fmt.Errorf("hostname: %w", err)
	}
	if c.ContactEmail != "" && !strings.Contains(c.ContactEmail, "@") {
		return c, fmt.Errorf("contact email %q: want an address, like you@example.com", c.ContactEmail)
	}
	d, err := time.ParseDuration(retention)
	if err != nil || d < time.Minute {
		return c, fmt.Errorf("event retention %q: want a duration of at least 1m, like 72h", retention)
	}
	c.EventRetention = d
	if err := c.checkTLS(); err != nil {
		return c, err
	}
	if c.trusted, err = clientip.ParseTrusted(c.TrustedProxies); err != nil {
		return c, err
	}
	if c.RelayCheckInterval, err = time.ParseDuration(*checkEvery); err != nil || c.RelayCheckInterval < time.Second {
		return c, fmt.Errorf("relay check interval %q: want a duration of at least 1s, like 5m", *checkEvery)
	}
	if err := checkMetricsListen(c.MetricsListen, c.MetricsPublic); err != nil {
		return c, err
	}
	if c.BlobLimit, err = strconv.ParseInt(blobLimit, 10, 64); err != nil || c.BlobLimit < 1 {
		return c, fmt.Errorf("blob limit %q: want a positive number of bytes", blobLimit)
	}
	c.derive()
	return c, nil
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

// run serves until ctx ends. Each pass of its loop opens the data file,
// serves (restarting in-process when a setting changes), closes the file,
// and performs the whole-file operation (restore, compaction) that asked
// for the stop, if any.
func run(ctx context.Context, cfg config, log *slog.Logger) error {
	lex, err := lexicon.Default()
	if err != nil {
		return fmt.Errorf("load lexicons: %w", err)
	}
	app := &appliance{log: log, started: time.Now()}
	// The pages outlive restarts, so a wizard session survives the
	// address step.
	pages := web.New(app, log).Handler()
	for {
		gen, closeGen, err := app.open(cfg)
		if err != nil {
			return err
		}
		for {
			err = serve(ctx, app.effective(gen), app, lex, pages)
			if !errors.Is(err, errReload) || app.pending() != nil {
				break
			}
			log.Info("restarting with the new settings")
		}
		closeGen()
		if !errors.Is(err, errReload) {
			return err
		}
		app.maintain(ctx, gen)
	}
}

// open opens the data file and starts the work tied to it; the returned
// function stops that work and closes the file.
func (a *appliance) open(cfg config) (config, func(), error) {
	log := a.log
	db, err := store.Open(dbPath(cfg.Data), store.Options{Logger: log})
	if err != nil {
		return cfg, nil, err
	}
	fail := func(err error) (config, func(), error) {
		db.Close()
		return cfg, nil, err
	}
	if cfg.AdminPassword, err = ensureAdminPassword(context.Background(), db, cfg.Data, cfg.AdminPassword); err != nil {
		return fail(err)
	}
	a.db, a.base = db, cfg
	a.figs.Store(newFigureSource(db, &a.requests))
	if err := a.announceSetup(); err != nil {
		return fail(err)
	}
	from := cfg.EmailFrom
	if from == "" {
		from = "noreply@" + cfg.Hostname
	}
	sender, err := mail.NewSender(db, mail.Config{URL: cfg.SMTPURL, From: from}, log)
	if err != nil {
		return fail(fmt.Errorf("mail: %w", err))
	}
	a.mail = sender
	if !sender.Configured() {
		log.Info("no mail server (HEARTH_SMTP_URL): account codes are shown on the account page, password reset codes in this log")
	}
	bg, stopBG := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, work := range []func(){
		func() { sender.Run(bg) },
		func() { pruneEvents(bg, db, cfg.EventRetention, log) },
		func() { a.sampleStats(bg, db, a.figs.Load(), log) },
		func() { keepLastSeq(bg, db, cfg.Data, log) },
	} {
		wg.Add(1)
		go func() { defer wg.Done(); work() }()
	}
	return cfg, func() {
		stopBG()
		wg.Wait()
		if err := db.Close(); err != nil {
			log.Warn("closing the data file failed", "err", err)
		}
	}, nil
}

var errReload = errors.New("reload")

// serve runs the HTTP server with one configuration until ctx ends or the
// wizard changes a setting (errReload).
func serve(ctx context.Context, cfg config, app *appliance, lex *lexicon.Catalog, pages http.Handler) error {
	db, log := app.db, app.log
	// Every request out goes through one guarded factory; dev mode lets it
	// reach loopback and the LAN, and so does a PLC directory the operator
	// configured by address.
	out := egress.New(egress.Options{AllowPrivate: cfg.Dev, Log: log, Allow: configuredAddr(cfg.PLCURL)})
	httpClient := out.Client(egress.Use{Timeout: 15 * time.Second, MaxRedirects: 3, MaxBody: 16 << 20})
	crawler := &stream.Crawler{Hostname: cfg.Hostname, Relays: crawlTargets(cfg, log), HTTP: httpClient, Log: log,
		CheckInterval: cfg.RelayCheckInterval, Behind: eventsBehind(db), Repos: hostedRepos(db)}
	srv, err := xrpc.New(ctx, xrpc.Config{
		Version:        version,
		Hostname:       cfg.Hostname,
		PublicURL:      strings.TrimSuffix(cfg.PublicURL, "/"),
		HandleDomains:  splitList(cfg.HandleDomains),
		PLCURL:         cfg.PLCURL,
		AdminPassword:  cfg.AdminPassword,
		InviteRequired: cfg.InviteRequired,
		Dev:            cfg.Dev,
		NoRateLimits:   !cfg.RateLimits,
		OAuth:          cfg.OAuth,
		BlobLimit:      cfg.BlobLimit,
		AppView:        cfg.AppView,
		Chat:           cfg.Chat,
		ReportService:  cfg.ReportService,

		MaxSubscribers:      cfg.MaxSubscribers,
		MaxSubscribersPerIP: cfg.MaxSubscribersPerIP,
		PrivacyPolicyURL:    cfg.PrivacyPolicyURL,
		TermsOfServiceURL:   cfg.TermsOfServiceURL,
		ContactEmail:        cfg.ContactEmail,
	}, xrpc.Deps{
		DB:       db,
		Log:      log,
		Lexicons: lex,
		PLC:      &plc.Client{BaseURL: cfg.PLCURL, HTTP: httpClient},
		Resolver: &resolve.Resolver{PLCURL: cfg.PLCURL, Egress: out, Dev: cfg.Dev},
		OnEvent:  crawler.Poke,
		Mailer:   &mail.Outbox{Sender: app.mail, Hostname: cfg.Hostname, PublicURL: cfg.PublicURL},
		Egress:   out,
	})
	if err != nil {
		return err
	}
	crawler.Resync = srv.Accounts().Resync
	bg, stopBG := context.WithCancel(context.Background())
	defer stopBG()
	if len(crawler.Relays) > 0 {
		go crawler.Run(bg)
	}
	go sweepBlobs(bg, srv.Blobs(), log)
	go sweepAccounts(bg, srv.Accounts(), log)
	var crawl func() // nil with no relay to ask: the move's check says "not asked"
	if len(crawler.Relays) > 0 {
		crawl = crawler.Poke
	}
	mover := app.newMover(bg, cfg, srv, out, crawl)
	go mover.Resume()

	reload := make(chan struct{}, 1)
	app.bind(cfg, srv, crawler, reload)
	stopMetrics, err := app.serveMetrics(cfg, srv, crawler)
	if err != nil {
		return err
	}
	defer stopMetrics()
	mux := http.NewServeMux()
	app.adminRoutes(mux)
	mux.Handle("/xrpc/", srv.Handler())
	mux.Handle("/.well-known/", srv.Handler())
	mux.Handle("/", pages)
	mux.Handle("GET /tls-check", tlsCheck(db, cfg))
	oauthRoutes(mux, srv, pages)
	app.trialRoutes(mux, cfg)
	handler := cfg.trusted.Middleware(app.counted(mux))

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	limits := defaultLimits()
	limits.MaxConns, limits.MaxConnsPerIP = cfg.MaxConns, cfg.MaxConnsPerIP
	ln = limitListener(ln, limits, log)
	hs := newHTTPServer(handler, limits)
	log.Info("hearth listening", "addr", ln.Addr().String(), "version", version, "data", db.Path(),
		"hostname", cfg.Hostname, "did", srv.ServiceDID())
	errc := make(chan error, 3)
	front, err := startFront(cfg, db, handler, limits, log, errc)
	if err != nil && !cfg.explicit["tls"] {
		// The wizard's choice stopped working (a certificate file gone, a
		// port taken): keep serving the pages, so the owner can mend it.
		log.Warn("the HTTPS choice made in the setup wizard does not work; serving without HTTPS", "err", err)
		front, err = noFront(), nil
	}
	if err != nil {
		ln.Close()
		return err
	}
	go func() { errc <- hs.Serve(ln) }()
	result := error(nil)
	select {
	case result = <-errc: // a listener failed: stop the others too
	case <-ctx.Done():
		log.Info("shutting down")
	case <-reload:
		result = errReload
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err = errors.Join(hs.Shutdown(shutdown), front.Shutdown(shutdown))
	srv.Wait() // in-flight writes finish before the store closes
	if result != nil {
		return result
	}
	return err
}

// configuredAddr lets the egress guard through to the address of a URL
// given as configuration, when it names one literally: the operator chose
// it, unlike the hosts of handles and DID documents. A private directory
// known by name only works in dev mode.
func configuredAddr(raw string) func(netip.AddrPort) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	ip, err := netip.ParseAddr(u.Hostname())
	if err != nil {
		return nil
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil
	}
	want := netip.AddrPortFrom(ip.Unmap(), uint16(p))
	return func(ap netip.AddrPort) bool {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()) == want
	}
}

// pruneEvents drops events older than the retention, in small batches.
func pruneEvents(ctx context.Context, db *store.DB, keep time.Duration, log *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		n, err := db.PruneEvents(ctx, time.Now().Add(-keep), 500)
		if err != nil && ctx.Err() == nil {
			log.Warn("pruning events failed", "err", err)
		} else if n > 0 {
			log.Info("pruned old events", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// crawlTargets drops public relays when this host is not publicly
// reachable: asking bsky.network to crawl "localhost" only leaks a dev run.
func crawlTargets(cfg config, log *slog.Logger) []string {
	relays := splitList(cfg.Relays)
	if len(relays) == 1 && strings.EqualFold(relays[0], relaysOff) {
		return nil
	}
	if !isLocalHost(cfg.Hostname) {
		return relays
	}
	var keep []string
	for _, r := range relays {
		host := r
		if u, err := url.Parse(r); err == nil && u.Host != "" {
			host = u.Hostname()
		}
		if isLocalHost(host) {
			keep = append(keep, r)
		} else {
			log.Info("not asking a public relay to crawl a local hostname", "relay", r, "hostname", cfg.Hostname)
		}
	}
	return keep
}

func isLocalHost(h string) bool {
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	h = strings.ToLower(h)
	if h == "localhost" || strings.HasSuffix(h, ".localhost") || strings.HasSuffix(h, ".test") || strings.HasSuffix(h, ".local") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && (ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified())
}

// sweepBlobs expires uploads no record came to use.
// sweepAccounts deletes, hourly, deactivated accounts whose deleteAfter
// has passed.
func sweepAccounts(ctx context.Context, accounts *account.Service, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := accounts.DeleteExpired(ctx); err != nil && ctx.Err() == nil {
			log.Warn("deleting expired accounts failed", "err", err)
		} else if n > 0 {
			log.Info("deleted accounts past their deleteAfter", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func sweepBlobs(ctx context.Context, b *blob.Store, log *slog.Logger) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := b.Sweep(ctx); err != nil && ctx.Err() == nil {
			log.Warn("sweeping blobs failed", "err", err)
		} else if n > 0 {
			log.Info("expired unused blobs", "count", n)
		}
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
