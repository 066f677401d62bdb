package main

import (
	"os"
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
	bin := buildHearth(t)
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

// TestE2EWizardInBrowser walks the setup wizard in Debian's chromium with
// playwright-core, posts as the new owner, and checks the downloaded backup
// (see e2e/wizard.mjs; screenshots land in e2e/artifacts/).
func TestE2EWizardInBrowser(t *testing.T) {
	e2e.Node(t)
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		if os.Getenv("HEARTH_E2E") == "1" {
			t.Fatal("chromium is not installed (.ci/run installs it with apt)")
		}
		t.Skip("chromium not installed")
	}
	bin := buildHearth(t)
	var summary struct {
		OK    bool     `json:"ok"`
		Steps []string `json:"steps"`
	}
	e2e.Run(t, &summary, "wizard.mjs", bin)
	if !summary.OK || len(summary.Steps) != 5 {
		t.Fatalf("wizard run: %+v", summary)
	}
}

// TestE2EAccountPage signs in at /account in Debian's chromium, changes the
// password, makes and revokes an app password, deactivates and reactivates,
// while @atproto/api checks which passwords sign in (see e2e/account.mjs;
// screenshots land in e2e/artifacts/account-*.png).
func TestE2EAccountPage(t *testing.T) {
	e2e.Node(t)
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		if os.Getenv("HEARTH_E2E") == "1" {
			t.Fatal("chromium is not installed (.ci/run installs it with apt)")
		}
		t.Skip("chromium not installed")
	}
	bin := buildHearth(t)
	var summary struct {
		OK    bool     `json:"ok"`
		Steps []string `json:"steps"`
	}
	e2e.Run(t, &summary, "account.mjs", bin)
	if !summary.OK || len(summary.Steps) != 5 {
		t.Fatalf("account page run: %+v", summary)
	}
}

// buildHearth builds the daemon as a static binary for a test to run.
func buildHearth(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hearth")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}
