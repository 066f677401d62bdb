// Command hearth is an AT Protocol Personal Data Server for a home device:
// one static binary, one bbolt data file.
//
// Every request out goes through identity/egress, with one exception: the
// status page's certificate check (publicTLS, health_tls.go) builds its own
// client, because it asks Hearth's own HTTPS listener on this machine, an
// address the egress guard refuses, and its dialer reaches nothing else.
package main

import (
	"context"
	"errors"
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

	"github.com/hearth-pds/hearth/blob"
	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/identity/account/mail"
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

func main() {
	reexecTuned(os.Args[1:], os.Environ())
	os.Exit(runCommand(os.Args[1:], os.Stdout, os.Stderr, getenv))
}

// serveCommand is "hearth [serve] [flags]": run the daemon until a signal.
func serveCommand(args []string, stderr io.Writer, getenv func(string) string) error {
	cfg, err := loadConfig(args, getenv)
	if err != nil {
		return err
	}
	tuneGC(getenv)
	log, logs := newBufferedLogger(stderr)
	defer logs.Flush()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		log.Error("hearth stopped", "err", err)
		return errFailed
	}
	return nil
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
	srv, crawler, out, err := newServer(ctx, cfg, app, lex)
	if err != nil {
		return err
	}
	bg, stopBG := context.WithCancel(context.Background())
	defer stopBG()
	if len(crawler.Relays) > 0 {
		go crawler.Run(bg)
	}
	go sweepBlobs(bg, srv.Blobs(), app.log)
	go sweepAccounts(bg, srv.Accounts(), app.log)
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
	mux.Handle("GET /tls-check", tlsCheck(app.db, cfg))
	oauthRoutes(mux, srv, pages)
	app.trialRoutes(mux, cfg)
	return app.listen(ctx, cfg, srv, cfg.trusted.Middleware(app.counted(mux)), reload)
}

// newServer makes the XRPC server and the relay crawler of one
// configuration, and the egress factory every request out goes through.
func newServer(ctx context.Context, cfg config, app *appliance, lex *lexicon.Catalog) (*xrpc.Server, *stream.Crawler, *egress.Factory, error) {
	db, log := app.db, app.log
	// Every request out goes through one guarded factory; dev mode lets it
	// reach loopback and the LAN, and so does a PLC directory the operator
	// configured by address.
	out := egress.New(egress.Options{AllowPrivate: cfg.Dev, Log: log, Allow: configuredAddr(cfg.PLCURL), Hosts: cfg.devHosts})
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
		return nil, nil, nil, err
	}
	crawler.Resync = srv.Accounts().Resync
	return srv, crawler, out, nil
}

// listen serves handler on the plain listener and the HTTPS front until
// ctx ends, a listener fails, or reload fires; then it shuts both down and
// waits for srv's in-flight writes.
func (a *appliance) listen(ctx context.Context, cfg config, srv *xrpc.Server, handler http.Handler, reload <-chan struct{}) error {
	db, log := a.db, a.log
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
	front, err := a.startChosenFront(cfg, handler, limits, errc)
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
