package main

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/hearth-pds/hearth/store"
)

// The daemon's own admin methods, for the hearth command. They are about
// the data file and the relays, which main owns, so they are served here
// beside the XRPC server rather than in it; the auth is the same HTTP
// Basic admin:<password>.
const adminNS = "dev.hearth.admin."

func (a *appliance) adminRoutes(mux *http.ServeMux) {
	route := func(method, name string, fn func(http.ResponseWriter, *http.Request) error) {
		mux.HandleFunc(method+" /xrpc/"+adminNS+name, a.adminOnly(fn))
	}
	route("GET", "getStatus", a.getStatus)
	route("POST", "requestCrawl", a.requestCrawl)
	route("GET", "backup", a.backupDownload)
	route("POST", "restore", a.restoreUpload)
	route("POST", "compact", a.compactNow)
}

// apiError is an XRPC error answer.
type apiError struct {
	status    int
	name, msg string
}

func (e *apiError) Error() string { return e.name + ": " + e.msg }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (a *appliance) adminOnly(fn func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, cfg := a.server()
		user, pw, has := r.BasicAuth()
		if !has || user != "admin" || cfg.AdminPassword == "" ||
			subtle.ConstantTimeCompare([]byte(pw), []byte(cfg.AdminPassword)) != 1 {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "AuthenticationRequired", "message": "admin password required"})
			return
		}
		if err := fn(w, r); err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				a.log.Error("admin method failed", "path", r.URL.Path, "err", err)
				ae = &apiError{http.StatusInternalServerError, "InternalServerError", err.Error()}
			}
			writeJSON(w, ae.status, map[string]string{"error": ae.name, "message": ae.msg})
		}
	}
}

// statusView is dev.hearth.admin.getStatus's answer.
type statusView struct {
	Version     string       `json:"version"`
	Uptime      string       `json:"uptime,omitempty"`
	Accounts    int          `json:"accounts"`
	LastSeq     int64        `json:"lastSeq"`
	Subscribers int          `json:"subscribers"`
	FileBytes   int64        `json:"fileBytes"`
	Relays      []relayView  `json:"relays"`
	Maintenance *maintenance `json:"maintenance,omitempty"`
	Disk        diskView     `json:"disk"`
}

type diskView struct {
	Free      int64    `json:"free"`
	Total     int64    `json:"total"`
	FileLimit int64    `json:"fileLimit,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
}

type relayView struct {
	Relay   string    `json:"relay"`
	LastOK  time.Time `json:"lastOK,omitzero"`
	LastErr string    `json:"lastErr,omitempty"`
	State   string    `json:"state,omitempty"`
	Behind  int       `json:"behind"`
	Words   string    `json:"words"`
}

func (a *appliance) getStatus(w http.ResponseWriter, r *http.Request) error {
	st := a.Status(r.Context())
	v := statusView{
		Version: st.Version, Uptime: st.Uptime.String(), Accounts: len(st.Accounts), LastSeq: st.LastSeq,
		Subscribers: st.Subscribers, FileBytes: st.FileBytes, Relays: []relayView{}, Maintenance: a.lastMaintenance(),
		Disk: diskView{Free: st.Disk.Free, Total: st.Disk.Total, FileLimit: st.Disk.FileLimit, Warnings: st.Disk.Warnings},
	}
	now := time.Now()
	for _, rs := range st.Relays {
		v.Relays = append(v.Relays, relayView{Relay: rs.Relay, LastOK: rs.LastOK, LastErr: rs.LastErr,
			State: rs.State, Behind: rs.Behind, Words: rs.Words(now)})
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *appliance) requestCrawl(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Relay string `json:"relay"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&in); err != nil && !errors.Is(err, io.EOF) {
			return &apiError{http.StatusBadRequest, "InvalidRequest", "body: " + err.Error()}
		}
	}
	a.mu.Lock()
	crawler := a.crawler
	a.mu.Unlock()
	var relays []string
	if in.Relay != "" {
		relays = []string{in.Relay}
	}
	type result struct {
		Relay string `json:"relay"`
		Error string `json:"error,omitempty"`
	}
	out := []result{}
	for relay, err := range crawler.CrawlNow(r.Context(), relays...) {
		res := result{Relay: relay}
		if err != nil {
			res.Error = err.Error()
		}
		out = append(out, res)
	}
	writeJSON(w, http.StatusOK, map[string]any{"relays": out})
	return nil
}

func (a *appliance) backupDownload(w http.ResponseWriter, r *http.Request) error {
	f, n, err := snapshot(a.db.Bolt())
	if err != nil {
		return noSpace(err)
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", fmt.Sprint(n))
	if _, err := io.Copy(w, f); err != nil {
		a.log.Warn("backup download cut short", "err", err)
	}
	return nil
}

func noSpace(err error) error {
	if errors.Is(err, ErrNoSpace) {
		return &apiError{http.StatusInsufficientStorage, "NoSpace", err.Error()}
	}
	return err
}

// restoreUpload takes a backup as the body, checks it, and has the daemon
// swap it in between two runs of the server.
func (a *appliance) restoreUpload(w http.ResponseWriter, r *http.Request) error {
	_, cfg := a.server()
	if r.ContentLength > 0 {
		if err := needSpace(cfg.Data, r.ContentLength); err != nil {
			return noSpace(err)
		}
	}
	staged := dbPath(cfg.Data) + ".restore"
	if _, err := copyFileTo(staged, r.Body); err != nil {
		os.Remove(staged)
		return fmt.Errorf("restore: receive the backup: %w", err)
	}
	if err := store.Verify(staged); err != nil {
		os.Remove(staged)
		return &apiError{http.StatusBadRequest, "InvalidBackup", err.Error()}
	}
	if err := a.schedule(&maintenance{Op: opRestore, staged: staged}); err != nil {
		os.Remove(staged)
		return err
	}
	writeJSON(w, http.StatusAccepted, a.lastMaintenance())
	return nil
}

func (a *appliance) compactNow(w http.ResponseWriter, r *http.Request) error {
	_, cfg := a.server()
	if fi, err := os.Stat(a.db.Path()); err == nil {
		if err := needSpace(cfg.Data, fi.Size()); err != nil {
			return noSpace(err)
		}
	}
	if err := a.schedule(&maintenance{Op: opCompact}); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, a.lastMaintenance())
	return nil
}
