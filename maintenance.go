package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// Whole-file operations run between two runs of the server, with the
// store closed: the HTTP server stops, the file is swapped, and the
// server starts again on the new file. Meanwhile a stand-in server on the
// same address answers dev.hearth.admin.getStatus with the progress and
// everything else with 503.

const (
	opRestore = "restore"
	opCompact = "compact"
)

// maintenance is one whole-file operation and its outcome so far.
type maintenance struct {
	Op       string    `json:"op"`
	State    string    `json:"state"` // pending, running, done, failed
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	Written  int64     `json:"written,omitempty"` // compaction: bytes copied
	Total    int64     `json:"total,omitempty"`   // compaction: size before
	After    int64     `json:"after,omitempty"`   // compaction: size after
	Error    string    `json:"error,omitempty"`

	staged string // restore: the verified backup, in the data folder
}

var errBusy = &apiError{http.StatusConflict, "Busy", "a restore or compaction is already under way"}

// schedule queues op and asks the server to stop for it.
func (a *appliance) schedule(op *maintenance) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.maint != nil && (a.maint.State == "pending" || a.maint.State == "running") {
		return errBusy
	}
	op.State, op.Started = "pending", time.Now()
	a.maint = op
	select {
	case a.reload <- struct{}{}:
	default:
	}
	return nil
}

// pending is the operation waiting for the server to stop, if any.
func (a *appliance) pending() *maintenance {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.maint != nil && a.maint.State == "pending" {
		return a.maint
	}
	return nil
}

// lastMaintenance is a copy of the latest operation, nil if none ran.
func (a *appliance) lastMaintenance() *maintenance {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.maint == nil {
		return nil
	}
	m := *a.maint
	return &m
}

func (a *appliance) update(fn func(m *maintenance)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fn(a.maint)
}

// maintain runs the pending operation. A failure leaves the live file as
// it was; it is logged and reported, never fatal.
func (a *appliance) maintain(ctx context.Context, cfg config) {
	op := a.pending()
	if op == nil {
		return
	}
	a.update(func(m *maintenance) { m.State = "running" })
	stopStandIn := a.standIn(a.effective(cfg))
	defer stopStandIn()
	var err error
	switch op.Op {
	case opRestore:
		a.log.Info("restoring the data file from an uploaded backup")
		err = restoreFile(ctx, cfg.Data, op.staged, a.log)
		os.Remove(op.staged)
	case opCompact:
		a.log.Info("compacting the data file")
		var after int64
		_, after, err = compactFile(cfg.Data, a.log, func(written, total int64) {
			a.log.Info("compacting", "written", written, "total", total)
			a.update(func(m *maintenance) { m.Written, m.Total = written, total })
		})
		a.update(func(m *maintenance) { m.After = after })
	}
	a.update(func(m *maintenance) {
		m.State, m.Finished = "done", time.Now()
		if err != nil {
			m.State, m.Error = "failed", err.Error()
		}
	})
	if err != nil {
		a.log.Error("maintenance failed; the data file is unchanged", "op", op.Op, "err", err)
	}
}

// standIn serves the address while the real server is down.
func (a *appliance) standIn(cfg config) (stop func()) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		a.log.Warn("no stand-in server during maintenance", "err", err)
		return func() {}
	}
	hs := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, adminNS+"getStatus") {
			a.adminOnly(func(w http.ResponseWriter, r *http.Request) error {
				writeJSON(w, http.StatusOK, statusView{Version: version, Relays: []relayView{}, Maintenance: a.lastMaintenance()})
				return nil
			})(w, r)
			return
		}
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "Maintenance", "message": "Hearth is restoring or compacting its data file; try again shortly"})
	})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Warn("stand-in server failed", "err", err)
		}
	}()
	return func() {
		hs.Close()
		<-done
	}
}
