package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestSecondOpenNamesTheHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hearth.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(filepath.Dir(path), "hearth.pid")); strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("pid file holds %q", b)
	}
	// A flock conflicts between two opens of the file even in one process.
	_, err = Open(path, Options{})
	want := fmt.Sprintf("already in use by process %d", os.Getpid())
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), want) {
		t.Fatalf("second open: %v, want %q", err, want)
	}
	db.Close()
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), "hearth.pid")); !os.IsNotExist(err) {
		t.Fatalf("pid file left after close: %v", err)
	}
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("open after the holder closed: %v", err)
	}
	db.Close()
}

// smallDisk mounts a tmpfs of size bytes for the test, or skips.
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a small tmpfs here (needs root and mount rights): %v: %s", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// When the disk fills, a write fails with ENOSPC, reads keep working,
// nothing acknowledged is lost, and writes work again once space returns,
// without reopening the file.
func TestDiskFullFailsWritesAndRecovers(t *testing.T) {
	dir := smallDisk(t, 8<<20)
	// Most of the room goes to another file, which is deleted later to
	// give the space back.
	if err := os.WriteFile(filepath.Join(dir, "ballast"), make([]byte, 5<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "hearth.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	put := func(i int) error {
		return db.Update(ctx, func(tx *Tx) error {
			return tx.SetMeta(fmt.Sprintf("k%05d", i), bytes.Repeat([]byte{byte(i)}, 32<<10))
		})
	}
	acked := 0
	var full error
	for i := 0; i < 1000; i++ {
		if err := put(i); err != nil {
			full = err
			break
		}
		acked++
	}
	if !errors.Is(full, syscall.ENOSPC) {
		t.Fatalf("after %d writes: %v, want ENOSPC", acked, full)
	}
	check := func(when string, db *DB, n int) {
		t.Helper()
		err := db.View(func(tx *Tx) error {
			for i := 0; i < n; i++ {
				if v := tx.Meta(fmt.Sprintf("k%05d", i)); len(v) != 32<<10 || v[0] != byte(i) {
					return fmt.Errorf("k%05d: %d bytes", i, len(v))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
	}
	check("while full", db, acked)
	if err := put(acked); err == nil {
		t.Fatal("a second write on a full disk succeeded")
	}
	os.Remove(filepath.Join(dir, "ballast"))
	for i := acked; i < acked+20; i++ {
		if err := put(i); err != nil {
			t.Fatalf("write %d after space returned: %v", i, err)
		}
	}
	check("after recovery", db, acked+20)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := Verify(path); err != nil {
		t.Fatalf("verify after a full disk: %v", err)
	}
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	check("after reopen", db, acked+20)
}
