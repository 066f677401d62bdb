// Command hearth is an AT Protocol Personal Data Server for a home device:
// one static binary, one bbolt data file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hearth-pds/hearth/store"
)

// version is stamped by build/ with -ldflags "-X main.version=…".
var version = "dev"

// config is every setting; each is a flag and a HEARTH_* variable.
type config struct {
	Data, Listen, Hostname, PublicURL, HandleDomains, PLCURL string
	AdminPassword, Relays                                    string
	InviteRequired, Dev                                      bool
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := loadConfig(os.Args[1:], os.Getenv)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "hearth:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		log.Error("hearth stopped", "err", err)
		os.Exit(1)
	}
}

func loadConfig(args []string, getenv func(string) string) (config, error) {
	var c config
	fs := flag.NewFlagSet("hearth", flag.ContinueOnError)
	str := func(p *string, name, env, def, usage string) {
		if v := getenv(env); v != "" {
			def = v
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
	str(&c.AdminPassword, "admin-password", "HEARTH_ADMIN_PASSWORD", "", "admin Basic-auth password (admin routes off when empty)")
	boolean(&c.InviteRequired, "invite-required", "HEARTH_INVITE_REQUIRED", true, "invite codes needed to sign up")
	str(&c.Relays, "relays", "HEARTH_RELAYS", "bsky.network", "comma list of relay hosts to ask to crawl")
	boolean(&c.Dev, "dev", "HEARTH_DEV", false, "dev mode: http and localhost allowed everywhere")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.PublicURL == "" {
		scheme := "https://"
		if c.Hostname == "localhost" || strings.HasPrefix(c.Hostname, "localhost:") {
			scheme = "http://"
		}
		c.PublicURL = scheme + c.Hostname
	}
	if c.HandleDomains == "" {
		c.HandleDomains = "." + c.Hostname
	}
	return c, nil
}

func run(ctx context.Context, cfg config, log *slog.Logger) error {
	db, err := store.Open(filepath.Join(cfg.Data, "hearth.db"), store.Options{Logger: log})
	if err != nil {
		return err
	}
	defer db.Close()

	started := time.Now()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /xrpc/_health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "{\"version\":%q}\n", version)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "Hearth %s — AT Protocol PDS\nup %s, data file %s\n\n"+
			"The repository engine is in place; accounts, the XRPC API and the setup\n"+
			"wizard are not served yet.\n", version, time.Since(started).Round(time.Second), db.Path())
	})

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Info("hearth listening", "addr", ln.Addr().String(), "version", version, "data", db.Path())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
