//go:build linux

package main

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestTunedEnv(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		want    string // GODEBUG afterwards; "" when nothing changes
	}{
		{"no GODEBUG", []string{"HOME=/root"}, sysmonSetting},
		{"empty GODEBUG", []string{"GODEBUG="}, sysmonSetting},
		{"other settings kept", []string{"GODEBUG=madvdontneed=1,gctrace=0"}, "madvdontneed=1,gctrace=0," + sysmonSetting},
		{"owner's choice wins", []string{"GODEBUG=schedtrace=0"}, ""},
		{"owner's choice later in the list", []string{"GODEBUG=gctrace=1,schedtrace=1000"}, ""},
		{"a longer name is not schedtrace", []string{"GODEBUG=xschedtrace=1"}, "xschedtrace=1," + sysmonSetting},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, changed := tunedEnv(slices.Clone(tt.environ))
			if changed != (tt.want != "") {
				t.Fatalf("changed = %v, want %v", changed, tt.want != "")
			}
			if !changed {
				if !slices.Equal(env, tt.environ) {
					t.Fatalf("environment changed to %q", env)
				}
				return
			}
			var got []string
			for _, kv := range env {
				if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
					got = append(got, v)
				}
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Fatalf("GODEBUG = %q, want exactly %q", got, tt.want)
			}
			if len(env) != len(tt.environ)-countGODEBUG(tt.environ)+1 {
				t.Fatalf("environment %q lost or gained entries from %q", env, tt.environ)
			}
		})
	}
}

func countGODEBUG(env []string) int {
	n := 0
	for _, kv := range env {
		if strings.HasPrefix(kv, "GODEBUG=") {
			n++
		}
	}
	return n
}

func TestServesDaemon(t *testing.T) {
	tests := []struct {
		args []string
		want bool
	}{
		{nil, true},
		{[]string{"serve"}, true},
		{[]string{"serve", "-listen", "127.0.0.1:1"}, true},
		{[]string{"-listen", "127.0.0.1:1"}, true},
		{[]string{"serve", "--help"}, false},
		{[]string{"-h"}, false},
		{[]string{"help"}, false},
		{[]string{"status"}, false},
		{[]string{"backup", "x"}, false},
	}
	for _, tt := range tests {
		if got := servesDaemon(tt.args); got != tt.want {
			t.Errorf("servesDaemon(%q) = %v, want %v", tt.args, got, tt.want)
		}
	}
}

// TestDaemonRunsTuned starts the built daemon and reads the environment
// its running process has: the setting must have reached the runtime,
// which reads it only at start, and the process must be the one started
// (exec, not a child).
func TestDaemonRunsTuned(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon")
	}
	_, pid := runBinary(t, "GODEBUG=gctrace=0")
	raw, err := os.ReadFile("/proc/" + itoa(pid) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	env := strings.Split(string(raw), "\x00")
	if !slices.Contains(env, "GODEBUG=gctrace=0,"+sysmonSetting) {
		t.Fatalf("the daemon runs without %s in GODEBUG (kept gctrace=0); its environment has %q", sysmonSetting, grepGODEBUG(env))
	}
}

func grepGODEBUG(env []string) []string {
	var out []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "GODEBUG") {
			out = append(out, kv)
		}
	}
	return out
}

// TestServiceUnitSetsSysmon: the systemd unit sets the same value, so the
// daemon it starts does not re-exec.
func TestServiceUnitSetsSysmon(t *testing.T) {
	unit, err := os.ReadFile("build/hearth.service")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(unit), "\nEnvironment=GODEBUG="+sysmonSetting+"\n") {
		t.Fatalf("build/hearth.service does not set GODEBUG=%s", sysmonSetting)
	}
}
