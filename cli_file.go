package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/hearth-pds/hearth/store"
)

// backup, restore and compact go through the daemon when it answers, and
// work on the data file directly when it is stopped.

func (c *cli) backup(args []string) error {
	fs := c.flags("backup", "FILE", "write a consistent copy of the data file to FILE")
	pos, err := c.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	path := pos[0]
	n, err := c.backupOnline(path)
	if errors.Is(err, errDaemonDown) {
		n, err = backupOffline(dbPath(c.data), path)
	}
	if err != nil {
		return err
	}
	if err := store.Verify(path); err != nil {
		return fmt.Errorf("backup written but unsound: %w", err)
	}
	return c.print(map[string]any{"file": path, "bytes": n}, fmt.Sprintf("wrote %s (%s)\n", path, sizeWords(n)))
}

func (c *cli) backupOnline(path string) (int64, error) {
	res, err := c.request(context.Background(), "GET", adminNS+"backup", nil, nil)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	n, err := copyFileTo(path, res.Body)
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	return n, nil
}

// backupOffline copies the data file of a stopped daemon.
func backupOffline(src, path string) (int64, error) {
	bdb, err := openIdle(src)
	if err != nil {
		return 0, err
	}
	defer bdb.Close()
	f, n, err := snapshot(bdb)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if _, err := copyFileTo(path, f); err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	return n, nil
}

// openIdle opens the data file of a stopped daemon read-only. It fails
// when a running daemon holds the file's lock.
func openIdle(path string) (*bolt.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("the daemon does not answer and there is no data file: %w", err)
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("the daemon does not answer on its address, yet %s is in use (check --listen): %w", path, err)
	}
	return bdb, nil
}

func (c *cli) restore(args []string) error {
	fs := c.flags("restore", "FILE", "put the backup FILE back in place of the data file")
	pos, err := c.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	path := pos[0]
	if err := store.Verify(path); err != nil {
		return fmt.Errorf("%s is not a Hearth backup: %w", path, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	ctx := context.Background()
	var m maintenance
	err = c.admin(ctx, "POST", adminNS+"restore", nil, f, &m)
	if errors.Is(err, errDaemonDown) {
		return c.restoreOffline(ctx, path)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stderr, "the daemon is restoring the backup…")
	return c.await(ctx, m.Started, "restored "+path+"; the relays have been asked to crawl again\n")
}

func (c *cli) restoreOffline(ctx context.Context, path string) error {
	live := dbPath(c.data)
	if _, err := os.Stat(live); err == nil {
		bdb, err := openIdle(live)
		if err != nil {
			return err
		}
		bdb.Close()
	}
	if err := os.MkdirAll(c.data, 0o700); err != nil {
		return err
	}
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	staged := live + ".restore"
	if fi, err := src.Stat(); err == nil {
		if err := needSpace(c.data, fi.Size()); err != nil {
			return err
		}
	}
	if _, err := copyFileTo(staged, src); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer os.Remove(staged)
	if err := restoreFile(ctx, c.data, staged, c.logger()); err != nil {
		return err
	}
	return c.print(map[string]string{"restored": path},
		"restored "+path+"; the relays will be asked to crawl when the daemon starts\n")
}

func (c *cli) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func (c *cli) compact(args []string) error {
	fs := c.flags("compact", "", "shrink the data file (needs free space of its size)")
	if _, err := c.parse(fs, args, 0, 0); err != nil {
		return err
	}
	ctx := context.Background()
	var m maintenance
	err := c.admin(ctx, "POST", adminNS+"compact", nil, struct{}{}, &m)
	if errors.Is(err, errDaemonDown) {
		live := dbPath(c.data)
		bdb, err := openIdle(live)
		if err != nil {
			return err
		}
		bdb.Close()
		before, after, err := compactFile(c.data, c.logger(), func(written, total int64) {
			fmt.Fprintf(c.stderr, "compacting: %s written of %s\n", sizeWords(written), sizeWords(total))
		})
		if err != nil {
			return err
		}
		return c.print(map[string]int64{"before": before, "after": after},
			fmt.Sprintf("compacted %s: %s → %s\n", live, sizeWords(before), sizeWords(after)))
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stderr, "the daemon is compacting its data file…")
	return c.await(ctx, m.Started, "")
}

// await polls the daemon until the operation started at started has
// finished and the server is back, printing progress on stderr.
func (c *cli) await(ctx context.Context, started time.Time, doneText string) error {
	var last int64 = -1
	down := time.Time{}
	for {
		time.Sleep(200 * time.Millisecond)
		var st statusView
		err := c.admin(ctx, "GET", adminNS+"getStatus", nil, nil, &st)
		if errors.Is(err, errDaemonDown) {
			if down.IsZero() {
				down = time.Now()
			} else if time.Since(down) > time.Minute {
				return fmt.Errorf("the daemon went away during the operation: see its log")
			}
			continue
		}
		if err != nil {
			return err
		}
		down = time.Time{}
		m := st.Maintenance
		if m == nil || !m.Started.Equal(started) {
			return fmt.Errorf("the daemon lost track of the operation: see its log")
		}
		if m.Written != last && m.Total > 0 && m.State == "running" {
			last = m.Written
			fmt.Fprintf(c.stderr, "%s: %s written of %s\n", m.Op, sizeWords(m.Written), sizeWords(m.Total))
		}
		if st.Uptime == "" || m.State == "pending" || m.State == "running" {
			continue // the stand-in answers, or the server is not back yet
		}
		if m.State == "failed" {
			return fmt.Errorf("%s failed: %s", m.Op, m.Error)
		}
		if doneText == "" {
			doneText = fmt.Sprintf("compacted: %s → %s\n", sizeWords(m.Total), sizeWords(m.After))
		}
		return c.print(m, doneText)
	}
}
