package main

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hearth-pds/hearth/e2e"
)

// TestE2EBlueskyClient builds the daemon and lets the real client
// libraries drive it: @atproto/api signs up, logs in and posts; a PLC
// directory validates every operation with @did-plc/lib; @atproto/sync and
// @atproto/repo check every firehose commit (see e2e/client.mjs).
func TestE2EBlueskyClient(t *testing.T) {
	e2e.Node(t)
	bin := filepath.Join(t.TempDir(), "hearth")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var summary struct {
		OK    bool     `json:"ok"`
		Steps []string `json:"steps"`
	}
	e2e.Run(t, &summary, "client.mjs", bin)
	if !summary.OK {
		t.Fatalf("client run incomplete: %v", summary.Steps)
	}
	for _, s := range summary.Steps {
		t.Log(s)
	}
}
