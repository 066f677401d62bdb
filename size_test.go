package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// TestReleaseBinarySize builds the release binary as build/build.sh does
// for amd64, the largest of its targets, and keeps it under 15 MiB: a Pi's
// SD card and its page cache carry every byte.
func TestReleaseBinarySize(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the daemon")
	}
	out := filepath.Join(t.TempDir(), "hearth")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-trimpath", "-ldflags", "-s -w", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, msg)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	const limit = 15 << 20
	t.Logf("linux/amd64 release binary: %.1f MiB", float64(fi.Size())/(1<<20))
	if fi.Size() > limit {
		t.Errorf("release binary is %.1f MiB, over the 15 MiB budget", float64(fi.Size())/(1<<20))
	}
}
