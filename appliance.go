package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/identity/account/mail"
	"github.com/hearth-pds/hearth/identity/account/move"
	"github.com/hearth-pds/hearth/identity/egress"
	"github.com/hearth-pds/hearth/identity/resolve"
	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/store"
	"github.com/hearth-pds/hearth/web"
	"github.com/hearth-pds/hearth/xrpc"
	"github.com/hearth-pds/hearth/xrpc/stream"
)

// Settings the wizard keeps in the data file (meta bucket).
const (
	metaHostname = "setting.hostname"
	metaOwner    = "setting.owner"
	metaStats    = "stats.history"
)

// appliance implements web.Backend over the running server. bind swaps in
// the server of each (re)start.
type appliance struct {
	db        *store.DB
	log       *slog.Logger
	started   time.Time
	setupCode string // printed at each start until setup is done (setupcode.go)
	mail      *mail.Sender

	base     config       // the settings of flags and environment, before the wizard's
	requests atomic.Int64 // HTTP requests served since start (see counted)
	// figs reads the figures of the open data file (metrics_figures.go).
	figs atomic.Pointer[figureSource]
	tls  tlsProbe // the last look at the public certificate (health_tls.go)

	mu      sync.Mutex
	cfg     config
	srv     *xrpc.Server
	crawler *stream.Crawler
	reload  chan struct{}
	maint   *maintenance                // the latest restore or compaction
	mover   atomic.Pointer[move.Runner] // set by newMover at each (re)start
	// tlsFailed is why the stored HTTPS choice did not start at the last
	// (re)start (startChosenFront), or "".
	tlsFailed string
}

var _ web.Backend = (*appliance)(nil)

func (a *appliance) bind(cfg config, srv *xrpc.Server, crawler *stream.Crawler, reload chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cfg, a.srv, a.crawler, a.reload = cfg, srv, crawler, reload
}

func (a *appliance) server() (*xrpc.Server, config) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.srv, a.cfg
}

func (a *appliance) meta(name string) string {
	var v string
	a.db.View(func(tx *store.Tx) error {
		v = string(tx.Meta(name))
		return nil
	})
	return v
}

// effective applies the wizard's stored hostname and HTTPS choice, each
// unless a flag or the environment set it.
func (a *appliance) effective(cfg config) config {
	if !cfg.explicit["hostname"] && a.meta(metaTrial) != "" {
		return cfg.trial()
	}
	cfg = cfg.withStoredTLS([]byte(a.meta(metaTLS)))
	if cfg.explicit["hostname"] {
		return cfg
	}
	if h := a.meta(metaHostname); h != "" {
		cfg.Hostname = h
		cfg.derive()
	}
	return cfg
}

func newSetupCode() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789" // no look-alikes
	b := make([]byte, 10)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:5]) + "-" + string(b[5:])
}

func (a *appliance) Owner() (string, bool) {
	o := a.meta(metaOwner)
	return o, o != ""
}

// Hostname is the hostname the stored settings ask for, which the running
// server has too, unless a wizard step is restarting it this moment.
func (a *appliance) Hostname() (string, bool) {
	cfg := a.effective(a.base)
	return cfg.Hostname, cfg.explicit["hostname"] || a.meta(metaHostname) != "" || cfg.Trial
}

func (a *appliance) SaveHostname(ctx context.Context, host string) error {
	host = strings.ToLower(strings.TrimSpace(host))
	if host == "" {
		return errors.New("Type the name people will reach this server at, like pds.example.com.")
	}
	if isLocalHost(host) {
		return errHostnameLocal
	}
	if err := checkHostname(host); err != nil {
		return err
	}
	if err := a.db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteMeta(metaTrial); err != nil {
			return err
		}
		return tx.SetMeta(metaHostname, []byte(host))
	}); err != nil {
		return err
	}
	a.restartSoon()
	return nil
}

func (a *appliance) CheckAddress(ctx context.Context, host string) web.AddressReport {
	rep := web.AddressReport{Host: host}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, host)
	if err != nil {
		rep.Err = err.Error()
	}
	rep.Addresses = addrs
	local := map[string]bool{}
	if ifs, err := net.InterfaceAddrs(); err == nil {
		for _, x := range ifs {
			if n, ok := x.(*net.IPNet); ok {
				if !n.IP.IsLoopback() {
					rep.Local = append(rep.Local, n.IP.String())
				}
				local[n.IP.String()] = true // 127.0.0.1 is this machine too
			}
		}
	}
	for _, ad := range addrs {
		if local[ad] {
			rep.PointsHere = true
		}
	}
	return rep
}

// HandleDomains are those of the stored settings, so a page drawn while the
// address step restarts the server already offers the new domain.
func (a *appliance) HandleDomains() []string {
	return splitList(a.effective(a.base).HandleDomains)
}

func (a *appliance) CreateOwner(ctx context.Context, handle, email, password string) (string, error) {
	if !a.settled() {
		return "", web.ErrRestarting
	}
	srv, _ := a.server()
	did, err := srv.CreateOwner(ctx, handle, email, password)
	if err != nil {
		return "", err
	}
	return did, a.db.Update(ctx, func(tx *store.Tx) error {
		if err := a.dropSetupCode(tx); err != nil {
			return err
		}
		return tx.SetMeta(metaOwner, []byte(did))
	})
}

func (a *appliance) ClaimHandle(ctx context.Context, did, handle string) error {
	srv, _ := a.server()
	if err := srv.SetHandle(ctx, did, handle); err != nil {
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "400 InvalidHandle: "))
	}
	return nil
}

func (a *appliance) Login(ctx context.Context, identifier, password string) bool {
	srv, cfg := a.server()
	if identifier == "admin" {
		return cfg.AdminPassword != "" && subtle.ConstantTimeCompare([]byte(password), []byte(cfg.AdminPassword)) == 1
	}
	owner, ok := a.Owner()
	if !ok {
		return false
	}
	// Only the owner may use the status page.
	var acct *store.Account
	a.db.View(func(tx *store.Tx) error {
		acct, _ = tx.Account(owner)
		return nil
	})
	if acct == nil || (identifier != acct.DID && !strings.EqualFold(identifier, acct.Handle) && !strings.EqualFold(identifier, acct.Email)) {
		srv.Accounts().CheckPassword(owner+"-nobody", password) // same cost either way
		return false
	}
	return srv.Accounts().CheckPassword(owner, password)
}

func (a *appliance) Status(ctx context.Context) web.Status {
	srv, _ := a.server()
	st := web.Status{Version: version, Uptime: time.Since(a.started).Round(time.Second), Subscribers: srv.Subscribers()}
	st.BlobCount, st.BlobBytes = srv.Blobs().Totals()
	if a.mail != nil {
		ms := a.mail.Status()
		st.Mail = web.MailStatus{Configured: ms.Configured, Queued: ms.Queued, LastSent: ms.LastSent}
		if ms.Configured {
			st.Mail.Server = a.mail.Endpoint().Addr()
		}
		if ms.LastErr != "" && ms.LastErrAt.After(ms.LastSent) {
			st.Mail.LastErr, st.Mail.LastErrAt = ms.LastErr, ms.LastErrAt
		}
	}
	if fi, err := os.Stat(a.db.Path()); err == nil {
		st.FileBytes = fi.Size()
	}
	a.db.View(func(tx *store.Tx) error {
		st.LastSeq = tx.LastSeq()
		json.Unmarshal(tx.Meta(metaStats), &st.History)
		return tx.Accounts(func(acct *store.Account) error {
			as := web.AccountStatus{DID: acct.DID, Handle: acct.Handle, Email: acct.Email, State: acct.Status}
			if r, err := tx.Repo(acct.DID); err == nil {
				_, as.RepoBytes, as.Records = r.Stats()
			}
			st.Accounts = append(st.Accounts, as)
			return nil
		})
	})
	a.health(ctx, &st)
	a.mu.Lock()
	crawler := a.crawler
	a.mu.Unlock()
	st.Relays = webRelays(crawler.Status())
	st.Disk = diskHealth(filepath.Dir(a.db.Path()), st.FileBytes, runtime.GOARCH)
	return st
}

func (a *appliance) CreateInvite(ctx context.Context) (string, error) {
	srv, _ := a.server()
	return srv.CreateInvite(ctx)
}

// Backup streams a consistent copy of the whole file while the server
// keeps running. The copy is taken to a local temporary file first, so the
// read transaction ends before a slow download does (see snapshot).
func (a *appliance) Backup(w io.Writer) (int64, error) {
	f, _, err := snapshot(a.db.Bolt())
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := io.Copy(w, f)
	if err == nil {
		a.noteBackup()
	}
	return n, err
}

func (a *appliance) ExportRepo(ctx context.Context, did string, w io.Writer) error {
	return a.db.View(func(tx *store.Tx) error { return repo.ExportCAR(tx, w, did, "") })
}

// Accounts is the account service of the server running now.
func (a *appliance) Accounts() *account.Service {
	srv, _ := a.server()
	return srv.Accounts()
}

func (a *appliance) PublicURL() string {
	_, cfg := a.server()
	return cfg.PublicURL
}

// RequestCrawl asks the relays to crawl now, past the crawler's back-off.
func (a *appliance) RequestCrawl(ctx context.Context) error {
	a.mu.Lock()
	crawler := a.crawler
	a.mu.Unlock()
	return crawler.Now(ctx)
}

// newMover makes the runner of the moves into the server of this run, over
// the same guarded road out, and lets the pages reach it. Its moves stop
// when ctx ends; the next run resumes them.
func (a *appliance) newMover(ctx context.Context, cfg config, srv *xrpc.Server, out *egress.Factory, crawl func()) *move.Runner {
	m := move.New(ctx, move.Deps{
		Accounts: srv.Accounts(), Blobs: srv.Blobs(), Egress: out, Crawl: crawl, Log: a.log,
		Resolver: &resolve.Resolver{PLCURL: cfg.PLCURL, Egress: out, Dev: cfg.Dev},
	})
	a.mover.Store(m)
	return m
}

// Mover is the runner of account moves of the server running now.
func (a *appliance) Mover() *move.Runner { return a.mover.Load() }
