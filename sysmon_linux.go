//go:build linux

package main

import (
	"os"
	"strings"
	"syscall"
)

// sysmonSetting keeps the Go runtime's monitor thread (sysmon) out of its
// deep sleep, which costs a sequential write about a seventh of its CPU.
//
// Between two requests every P is idle, so sysmon goes into its deep
// sleep; the first system call of the next request wakes it and resets its
// polling interval to 20 µs, and it keeps polling that fast for the whole
// request (a write waits on two fdatasyncs). On the 2-core test VM that was
// some ten wake-ups per write at 14 µs each: 15% of the server's CPU on
// sequential createRecord and uploadBlob. schedtrace > 0 is the runtime's
// only switch that skips the deep sleep; sysmon then backs off to a 10 ms
// interval and stays there while it has nothing to retake. The period is
// the largest the runtime takes, so its trace line is printed only once
// the machine has been up 24.8 days, and then every 24.8 days. The price is
// sysmon's 100 wake-ups a second when Hearth is idle (0.3% of a core on
// the VM). GODEBUG=schedtrace=0 in the environment opts out.
const sysmonSetting = "schedtrace=2147483647"

// reexecTuned replaces the daemon's process with itself, sysmonSetting
// added to GODEBUG, unless GODEBUG already says what schedtrace is. The
// runtime reads the setting only at start. It returns when it did not exec
// (another command, already set, or exec failed: the daemon then runs with
// the runtime's defaults).
func reexecTuned(args []string, environ []string) {
	if !servesDaemon(args) {
		return
	}
	env, ok := tunedEnv(environ)
	if !ok {
		return
	}
	// /proc/self/exe is this binary even when its file was replaced or
	// removed since it started (an upgrade in place).
	syscall.Exec("/proc/self/exe", os.Args, env)
}

// tunedEnv returns environ with sysmonSetting in GODEBUG, and false when
// GODEBUG already sets schedtrace.
func tunedEnv(environ []string) ([]string, bool) {
	out := make([]string, 0, len(environ)+1)
	debug := ""
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
			debug = v
			continue
		}
		out = append(out, kv)
	}
	for _, field := range strings.Split(debug, ",") {
		if strings.HasPrefix(field, "schedtrace=") {
			return environ, false
		}
	}
	if debug != "" {
		debug += ","
	}
	return append(out, "GODEBUG="+debug+sysmonSetting), true
}

// servesDaemon reports whether args run the daemon (see cli.dispatch).
func servesDaemon(args []string) bool {
	if len(args) == 0 {
		return true
	}
	if isHelp(args[0]) {
		return false
	}
	return strings.HasPrefix(args[0], "-") || args[0] == "serve" && !(len(args) > 1 && isHelp(args[1]))
}
