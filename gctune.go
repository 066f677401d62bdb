package main

import "runtime/debug"

// The collector's setting for the daemon. Reads allocate far more than
// they keep (a listRecords page decodes a hundred records to JSON), and a
// write some 160 KB, mostly bbolt's decoded pages, against a live heap of a
// few MiB, so at the runtime's default (GOGC=100) a cycle ran every few
// dozen requests. Three times the headroom, bounded by a memory limit,
// cut listRecords by 15% and a 1 MiB upload by 7% in-process on the test
// VM, and build/load's peak of anonymous memory stays at 33 MiB (34 at
// the default): the limit, not the percentage, bounds the peaks (the
// password hash at sign-up, a large upload). A limit of 32 MiB was too
// tight: the scavenger gave back memory that the next upload faulted in
// again (29–43 faults per upload against 20–31), and uploads cost 10–15%
// more over HTTP than at 36 MiB. Higher limits bought nothing: at 40 and
// 44 MiB an upload cost the same (medians 1.82 and 1.90 ms against 1.89,
// in three interleaved build/load runs each, 23 faults apiece), and the
// peak of anonymous memory rose to 36.8 and 40.9 MiB.
const (
	gcPercent = 300
	gcLimit   = 36 << 20
)

// gcSetting is the collector's percentage and memory limit for the daemon,
// or -1 where the runtime's own default stays. The two go together: a
// higher percentage is only safe under the limit, so setting either
// GOGC or GOMEMLIMIT in the environment leaves both to the runtime, which
// reads them there.
func gcSetting(getenv func(string) string) (percent int, limit int64) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return -1, -1
	}
	return gcPercent, gcLimit
}

// tuneGC applies gcSetting.
func tuneGC(getenv func(string) string) {
	percent, limit := gcSetting(getenv)
	if percent < 0 {
		return
	}
	debug.SetGCPercent(percent)
	debug.SetMemoryLimit(limit)
}
