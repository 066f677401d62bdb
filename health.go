package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/hearth-pds/hearth/store"
	"github.com/hearth-pds/hearth/web"
)

// metaLastBackup is the unix time of the last backup downloaded (meta
// bucket), for the status page's reminder.
const metaLastBackup = "backup.last"

func (a *appliance) noteBackup() {
	now := strconv.FormatInt(time.Now().Unix(), 10)
	if err := a.db.Update(context.Background(), func(tx *store.Tx) error { return tx.SetMeta(metaLastBackup, []byte(now)) }); err != nil {
		a.log.Warn("recording the backup time failed", "err", err)
	}
}

// health fills what the status page's cards judge: DNS, the owner's DID
// document, disk, backups and counts.
func (a *appliance) health(ctx context.Context, st *web.Status) {
	srv, cfg := a.server()
	st.Now, st.Hostname, st.Trial = time.Now(), cfg.Hostname, cfg.Trial
	st.Requests = a.requests.Load()
	if v, err := strconv.ParseInt(a.meta(metaLastBackup), 10, 64); err == nil {
		st.LastBackup = time.Unix(v, 0)
	}
	var fs syscall.Statfs_t
	if syscall.Statfs(filepath.Dir(a.db.Path()), &fs) == nil {
		st.DiskFree, st.DiskTotal = int64(fs.Bavail)*int64(fs.Bsize), int64(fs.Blocks)*int64(fs.Bsize)
	}
	a.db.View(func(tx *store.Tx) error {
		st.Events = eventCount(tx)
		return nil
	})
	if !cfg.Trial {
		st.Address = a.CheckAddress(ctx, cfg.Hostname)
		st.TLS = a.publicTLS(ctx, cfg, st.Now)
	}
	// A last sample of now, so the charts draw from the first minute.
	if figs := a.figs.Load(); figs != nil && len(st.History) > 0 {
		st.History = append(st.History, figs.sample(st.Now, false))
	}
	did, ok := a.Owner()
	if !ok {
		return
	}
	st.Identity.DID = did
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	svc := srv.Accounts()
	doc, err := svc.PLC.Document(ctx, did)
	if err != nil {
		a.log.Info("status: reading the owner's DID document failed", "did", did, "err", err)
		st.Identity.Err = "unreadable"
		return
	}
	st.Identity.Endpoint, _ = doc.PDSEndpoint()
	keys, err := svc.RecoveryKeys(ctx, did)
	if err != nil {
		st.Identity.Err = "unreadable"
		return
	}
	st.Identity.RecoveryKeys = len(keys)
}

func eventCount(tx *store.Tx) int {
	if b := tx.Bolt().Bucket([]byte("events")); b != nil {
		return b.Stats().KeyN
	}
	return 0
}

// Samples are fine at first and coarser later: one a minute for the last
// two hours, then one an hour for 30 days. Each holds the totals at its
// time and the requests and events since the one before.
const (
	fineFor    = 2 * time.Hour
	keepCoarse = 30 * 24 * time.Hour
)

// thin merges the samples older than fineFor into one per hour (the last
// of each hour, with the counts of the hour summed) and drops those past
// keepCoarse.
func thin(hist []web.Sample, now time.Time) []web.Sample {
	var out []web.Sample
	for _, s := range hist {
		age := now.Sub(s.Time)
		if age > keepCoarse {
			continue
		}
		if n := len(out); n > 0 && age > fineFor && now.Sub(out[n-1].Time) > fineFor &&
			out[n-1].Time.Truncate(time.Hour).Equal(s.Time.Truncate(time.Hour)) {
			s.Requests += out[n-1].Requests
			s.Events += out[n-1].Events
			out[n-1] = s
			continue
		}
		out = append(out, s)
	}
	return out
}

// sampleStats records the figures every minute for the status page's
// charts, kept in the data file (meta "stats.history"): the same figures
// /metrics serves.
func (a *appliance) sampleStats(ctx context.Context, db *store.DB, figs *figureSource, log *slog.Logger) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		s := figs.sample(time.Now(), true)
		err := db.Update(ctx, func(tx *store.Tx) error {
			var hist []web.Sample
			json.Unmarshal(tx.Meta(metaStats), &hist)
			hist = thin(append(hist, s), s.Time)
			raw, _ := json.Marshal(hist)
			return tx.SetMeta(metaStats, raw)
		})
		if err != nil && ctx.Err() == nil {
			log.Warn("recording stats failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
