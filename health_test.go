package main

import (
	"bytes"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func TestDiskHealth(t *testing.T) {
	dir := t.TempDir()
	d := diskHealth(dir, 1<<20, "amd64")
	if d.Total <= 0 || d.Free <= 0 || d.Free > d.Total || d.FileLimit != 0 {
		t.Fatalf("amd64: %+v", d)
	}
	if d := diskHealth(dir, 1<<30, "arm"); d.FileLimit != arm32FileLimit || hasWarning(d.Warnings, "32-bit") {
		t.Fatalf("arm, 1 GiB file: %+v", d)
	}
	if d := diskHealth(dir, 1600<<20, "arm"); !hasWarning(d.Warnings, "32-bit ARM") {
		t.Fatalf("arm, a file at 78%% of the limit: no warning in %+v", d)
	}
	small := smallDisk(t, 4<<20) // under 1 GiB: always low
	if d := diskHealth(small, 0, "amd64"); !hasWarning(d.Warnings, "nearly full") {
		t.Fatalf("a 4 MiB disk: no warning in %+v", d)
	}
}

func hasWarning(ws []string, s string) bool {
	for _, w := range ws {
		if strings.Contains(w, s) {
			return true
		}
	}
	return false
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
