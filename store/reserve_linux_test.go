package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// allocated is how many bytes of disk the file at path holds.
func allocated(t *testing.T, path string) int64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

func TestCommitsReserveBlocksAhead(t *testing.T) {
	dir := t.TempDir()
	probe, err := os.Create(filepath.Join(dir, "probe"))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Fallocate(int(probe.Fd()), 0x01, 0, 4096); err != nil {
		t.Skipf("this file system cannot fallocate: %v", err)
	}
	probe.Close()
	path := filepath.Join(dir, "hearth.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var size int64
	for i := 0; i < 40; i++ {
		err := db.Update(context.Background(), func(tx *Tx) error {
			size = tx.Bolt().Size()
			return tx.SetMeta(fmt.Sprintf("k%03d", i), bytes.Repeat([]byte{byte(i)}, 64<<10))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := allocated(t, path), size+reserveMin/2; got < want {
		t.Fatalf("file holds %d bytes of disk for %d of data, want at least %d", got, size, want)
	}
	if fi.Size() >= size+reserveMin {
		t.Fatalf("file size %d: the reservation must not change it (data ends at %d)", fi.Size(), size)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := Verify(path); err != nil {
		t.Fatal(err)
	}
}
