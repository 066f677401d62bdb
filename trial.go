package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hearth-pds/hearth/identity"
	"github.com/hearth-pds/hearth/identity/plc/plclocal"
	"github.com/hearth-pds/hearth/store"
)

// metaTrial marks a local trial, chosen in the wizard: Hearth answers on
// this computer only, with its own PLC directory (package
// identity/plc/plclocal, under /plc/) and .test handles, and asks no relay
// to crawl it, so nothing of it ever reaches the public network.
const metaTrial = "setting.trial"

// trialHandleDomain is the suffix of trial handles; .test is reserved for
// exactly this (RFC 2606) and resolves nowhere.
const trialHandleDomain = ".test"

// errHostnameLocal refuses localhost as a public name in the wizard: it
// reaches nothing but this computer, which is what the trial is for.
var errHostnameLocal = errors.New(`"localhost" reaches only this computer: choose "Try it on this computer" for a trial, or type the name people will reach this server at, like pds.example.com`)

// trial turns cfg into the trial's settings.
func (c config) trial() config {
	c.Hostname = "localhost"
	c.explicit = cloneSet(c.explicit)
	delete(c.explicit, "public-url")
	delete(c.explicit, "handle-domains")
	c.derive()
	c.HandleDomains = trialHandleDomain
	c.PLCURL = "http://" + loopbackAddr(c.Listen) + "/plc"
	c.Relays = ""
	c.Dev = true // .test handles and http everywhere; the egress stays local anyway
	c.Trial = true
	return c
}

func cloneSet(m map[string]bool) map[string]bool {
	out := make(map[string]bool, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// loopbackAddr is the address this machine reaches the listener at.
func loopbackAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// checkHostname refuses what cannot be a server's public name (it becomes
// did:web:<name>): a DNS name of at least two labels, or localhost.
func checkHostname(h string) error {
	if h == "localhost" || strings.HasPrefix(h, "localhost:") {
		return nil
	}
	if _, err := identity.ParseHandle(h); err != nil {
		return fmt.Errorf("%q is not a hostname: type a name like pds.example.com (letters, digits, hyphens and dots, no spaces)", h)
	}
	return nil
}

// Trial reports whether the stored settings ask for a local trial (the
// server running has them too, unless a wizard step is restarting it).
func (a *appliance) Trial() bool {
	return a.effective(a.base).Trial
}

// StartTrial switches to the local trial and restarts.
func (a *appliance) StartTrial(ctx context.Context) error {
	if err := a.db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteMeta(metaHostname); err != nil {
			return err
		}
		return tx.SetMeta(metaTrial, []byte("1"))
	}); err != nil {
		return err
	}
	a.restartSoon()
	return nil
}

// LeaveTrial ends the trial: the wizard opens again at the address step.
// The trial's accounts stay in the data file, known only to its local
// directory.
func (a *appliance) LeaveTrial(ctx context.Context) error {
	if err := a.db.Update(ctx, func(tx *store.Tx) error {
		for _, k := range []string{metaTrial, metaOwner, metaHostname} {
			if err := tx.DeleteMeta(k); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if _, err := a.ensureSetupCode(a.base.Data); err != nil {
		return err
	}
	a.restartSoon()
	return nil
}

// restartSoon restarts the server after the answer in hand is written.
func (a *appliance) restartSoon() {
	a.mu.Lock()
	reload := a.reload
	a.mu.Unlock()
	go func() {
		time.Sleep(200 * time.Millisecond)
		select {
		case reload <- struct{}{}:
		default:
		}
	}()
}

// settled reports whether the server running is the one the stored
// settings ask for. Right after a wizard step it may not be yet; waiting
// here would hold up the very shutdown the restart needs, so the caller
// asks the person to press again instead.
func (a *appliance) settled() bool {
	want := a.effective(a.base)
	_, cfg := a.server()
	return cfg.Hostname == want.Hostname && cfg.Trial == want.Trial
}

// trialRoutes serves the trial's own PLC directory under /plc/.
func (a *appliance) trialRoutes(mux *http.ServeMux, cfg config) {
	if cfg.Trial {
		mux.Handle("/plc/", http.StripPrefix("/plc", &plclocal.Directory{DB: a.db}))
	}
}

// counted counts the requests served, for the status page's chart.
func (a *appliance) counted(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.requests.Add(1)
		h.ServeHTTP(w, r)
	})
}
