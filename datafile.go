package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/hearth-pds/hearth/identity/auth"
	"github.com/hearth-pds/hearth/repo"
	"github.com/hearth-pds/hearth/store"
	"github.com/hearth-pds/hearth/xrpc/stream"
)

// The data folder holds the bbolt file and, beside it, two small files
// that must outlive any one copy of it:
//
//	hearth.db          the data (package store)
//	hearth.db.bak      the file a restore or compaction replaced, until the next one
//	last-seq           the last firehose sequence number this folder served, in
//	                   decimal; written every minute and on shutdown, so that a
//	                   restored older file never numbers events backwards
//	admin-password     the generated admin password (mode 0600), for the hearth
//	                   command on this machine: the daemon holds the bbolt
//	                   file's lock, so the command cannot read it from there
const (
	dbFile            = "hearth.db"
	lastSeqFile       = "last-seq"
	adminPasswordFile = "admin-password"
	metaAdminPassword = "admin-password"
)

// ErrNoSpace means the disk lacks room for a copy of the data file.
var ErrNoSpace = errors.New("not enough free disk space")

func dbPath(dir string) string { return filepath.Join(dir, dbFile) }

// readLastSeq returns the number in dir/last-seq, 0 if there is none.
func readLastSeq(dir string) int64 {
	b, err := os.ReadFile(filepath.Join(dir, lastSeqFile))
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// writeLastSeq records seq unless a larger number is already recorded.
func writeLastSeq(dir string, seq int64) error {
	if seq <= readLastSeq(dir) {
		return nil
	}
	return writeFileAtomic(filepath.Join(dir, lastSeqFile), []byte(strconv.FormatInt(seq, 10)+"\n"), 0o600)
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// keepLastSeq writes the store's last sequence number to dir/last-seq every
// minute until ctx ends, and once more then.
func keepLastSeq(ctx context.Context, db *store.DB, dir string, log *slog.Logger) {
	save := func() {
		var seq int64
		db.View(func(tx *store.Tx) error { seq = tx.LastSeq(); return nil })
		if err := writeLastSeq(dir, seq); err != nil {
			log.Warn("recording the last sequence number failed", "err", err)
		}
	}
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			save()
			return
		case <-t.C:
			save()
		}
	}
}

// ensureAdminPassword returns the configured admin password or, when none
// is configured, the one stored in the data file, generating it on first
// start. A generated password is also written to dir/admin-password.
func ensureAdminPassword(ctx context.Context, db *store.DB, dir, configured string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	var pw string
	err := db.Update(ctx, func(tx *store.Tx) error {
		pw = string(tx.Meta(metaAdminPassword))
		if pw != "" {
			return nil
		}
		pw = auth.RandomToken(18)
		return tx.SetMeta(metaAdminPassword, []byte(pw))
	})
	if err != nil {
		return "", fmt.Errorf("admin password: %w", err)
	}
	path := filepath.Join(dir, adminPasswordFile)
	if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) == pw {
		return pw, nil
	}
	if err := writeFileAtomic(path, []byte(pw+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("admin password: %w", err)
	}
	return pw, nil
}

// needSpace fails with ErrNoSpace unless dir's file system has n bytes free.
func needSpace(dir string, n int64) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("free space of %s: %w", dir, err)
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	if free < n {
		return fmt.Errorf("%w in %s: %s needed, %s free", ErrNoSpace, dir, sizeWords(n), sizeWords(free))
	}
	return nil
}

func sizeWords(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", (n+1023)/1024)
}

// snapshot copies db into a temporary file in its folder and returns that
// file, unlinked and at offset 0. The read transaction lasts only as long
// as the local copy, not as long as a slow client takes to download it:
// bbolt cannot grow the file while a read transaction is open.
func snapshot(db *bolt.DB) (*os.File, int64, error) {
	dir := filepath.Dir(db.Path())
	var size int64
	db.View(func(tx *bolt.Tx) error { size = tx.Size(); return nil })
	if err := needSpace(dir, size); err != nil {
		return nil, 0, fmt.Errorf("backup: %w", err)
	}
	f, err := os.CreateTemp(dir, ".backup-*")
	if err != nil {
		return nil, 0, fmt.Errorf("backup: %w", err)
	}
	os.Remove(f.Name()) // the open file stays readable; a crash leaves nothing behind
	var n int64
	err = db.View(func(tx *bolt.Tx) error {
		n, err = tx.WriteTo(f)
		return err
	})
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("backup: copy: %w", err)
	}
	return f, n, nil
}

// copyFileTo writes src to path through a temporary file and a rename, so
// path is either complete or untouched.
func copyFileTo(path string, src io.Reader) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, src)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	return n, err
}

// lastSeqOf reads the last sequence number of a closed data file, 0 if it
// cannot be read.
func lastSeqOf(path string) int64 {
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return 0
	}
	defer bdb.Close()
	var seq int64
	store.ViewBolt(bdb, func(tx *store.Tx) error { seq = tx.LastSeq(); return nil })
	return seq
}

// restoreFile replaces dir's data file with the backup at staged, which
// must be a file in dir (it is renamed into place). The live file must be
// closed. The restored file numbers events after everything this folder
// ever served, and announces every repository with a #sync, so relays
// take its state as the new truth.
func restoreFile(ctx context.Context, dir, staged string, log *slog.Logger) error {
	if err := store.Verify(staged); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	live := dbPath(dir)
	floor := max(readLastSeq(dir), lastSeqOf(live))
	db, err := store.Open(staged, store.Options{Logger: log})
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	em := &stream.Emitter{}
	synced := 0
	err = db.Update(ctx, func(tx *store.Tx) error {
		synced = 0
		if err := tx.SeqFloor(floor); err != nil {
			return err
		}
		return tx.Repos("", func(r *store.Repo) error {
			if _, err := tx.Account(r.DID()); err != nil {
				return nil // a leftover repo of a deleted account
			}
			head, err := repo.LoadHead(tx, r.DID())
			if err != nil {
				return err
			}
			synced++
			return em.Sync(tx, r.DID(), head.Commit, r.Block(head.Commit.Bytes()), head.Rev)
		})
	})
	var seq int64
	db.View(func(tx *store.Tx) error { seq = tx.LastSeq(); return nil })
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("restore: announce repositories: %w", err)
	}
	if err := swapIn(dir, staged); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	log.Info("restored the data file", "from_seq", floor, "last_seq", seq, "synced", synced)
	return writeLastSeq(dir, seq)
}

// swapIn renames next over the live data file, keeping the old one as
// hearth.db.bak.
func swapIn(dir, next string) error {
	live := dbPath(dir)
	if _, err := os.Stat(live); err == nil {
		if err := os.Rename(live, live+".bak"); err != nil {
			return err
		}
	}
	if err := os.Rename(next, live); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// compactFile copies the closed data file into a new, dense one and swaps
// it in. progress is called with the bytes written so far.
func compactFile(dir string, log *slog.Logger, progress func(written, total int64)) (before, after int64, err error) {
	live := dbPath(dir)
	fi, err := os.Stat(live)
	if err != nil {
		return 0, 0, fmt.Errorf("compact: %w", err)
	}
	before = fi.Size()
	if err := needSpace(dir, before); err != nil {
		return before, 0, fmt.Errorf("compact: %w", err)
	}
	src, err := bolt.Open(live, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		return before, 0, fmt.Errorf("compact: %w", err)
	}
	defer src.Close()
	next := live + ".compact"
	os.Remove(next)
	dst, err := bolt.Open(next, 0o600, &bolt.Options{NoSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return before, 0, fmt.Errorf("compact: %w", err)
	}
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if fi, err := os.Stat(next); err == nil {
					progress(fi.Size(), before)
				}
			}
		}
	}()
	err = bolt.Compact(dst, src, 16<<20)
	close(stop)
	<-watched
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(next)
		return before, 0, fmt.Errorf("compact: %w", err)
	}
	src.Close()
	if fi, err := os.Stat(next); err == nil {
		after = fi.Size()
		progress(after, before)
	}
	if err := swapIn(dir, next); err != nil {
		return before, after, fmt.Errorf("compact: %w", err)
	}
	log.Info("compacted the data file", "before", before, "after", after)
	return before, after, nil
}
