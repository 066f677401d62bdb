package main

import (
	"os"
	"time"

	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/store"
	"github.com/hearth-pds/hearth/web"
	"github.com/hearth-pds/hearth/xrpc/stream"
)

// relaysOff is the HEARTH_RELAYS value that turns crawling off. A variable
// set but empty means the same (see getenv), unlike one left unset, which
// keeps the default relay.
const relaysOff = "none"

// defaultCheckInterval is how often a relay is asked how it sees this host.
const defaultCheckInterval = 5 * time.Minute

// getenv is os.Getenv, except that HEARTH_RELAYS set to nothing reads as
// relaysOff: the settings read "" as "not given", and an empty relay list
// is a choice.
func getenv(name string) string {
	v, set := os.LookupEnv(name)
	if name == "HEARTH_RELAYS" && set && v == "" {
		return relaysOff
	}
	return v
}

// eventsBehind counts this host's events after seq, up to limit, for the
// crawler's lag check: sequence numbers have gaps (they jump to the clock
// at each start), so the difference of two seqs is not a count.
func eventsBehind(db *store.DB) func(seq int64, limit int) (int, time.Time) {
	return func(seq int64, limit int) (n int, first time.Time) {
		db.View(func(tx *store.Tx) error {
			return tx.Events(seq, func(ev store.Event) error {
				if n == 0 {
					first = ev.Time
				}
				if n++; n >= limit {
					return store.ErrStop
				}
				return nil
			})
		})
		return n, first
	}
}

// hostedRepos lists the active accounts and their revs, for the crawler's
// account checks.
func hostedRepos(db *store.DB) func() []stream.HostedRepo {
	return func() []stream.HostedRepo {
		var out []stream.HostedRepo
		db.View(func(tx *store.Tx) error {
			return tx.Accounts(func(a *store.Account) error {
				if !a.Active() {
					return nil
				}
				if h, err := repo.LoadHead(tx, a.DID); err == nil {
					out = append(out, stream.HostedRepo{DID: a.DID, Handle: a.Handle, Rev: h.Rev})
				}
				return nil
			})
		})
		return out
	}
}

// webRelays is the crawler's state for the pages.
func webRelays(in []stream.RelayStatus) []web.RelayStatus {
	out := make([]web.RelayStatus, 0, len(in))
	for _, r := range in {
		out = append(out, web.RelayStatus{
			Relay: r.Relay, LastOK: r.LastOK, LastErr: r.LastErr, LastTry: r.LastTry, Reason: string(r.Reason),
			Checked: r.Checked, CheckErr: r.CheckErr, State: string(r.State), Answer: r.Answer, Seq: r.Seq,
			Behind: r.Behind, Missing: r.Missing, AnsweredAt: r.AnsweredAt, Accounts: outOfStep(r.Repos),
		})
	}
	return out
}

// outOfStep keeps the accounts a relay holds out of step, for the pages.
func outOfStep(in []stream.RepoCheck) []web.RelayAccount {
	var out []web.RelayAccount
	for _, rc := range in {
		if rc.State == stream.RepoInStep {
			continue
		}
		out = append(out, web.RelayAccount{DID: rc.DID, Handle: rc.Handle, State: string(rc.State), Since: rc.Since(),
			Mended: rc.Mended, MendErr: rc.MendErr, CheckErr: rc.CheckErr})
	}
	return out
}
