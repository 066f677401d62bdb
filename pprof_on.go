//go:build pprof

package main

import (
	"net/http"
	"net/http/pprof"
)

// profileRoutes serves Go's profiles on the metrics listener, in a binary
// built with -tags pprof for performance work (build/load -pprof). The
// release binary leaves them out: 0.4 MiB for what only a developer reads.
func profileRoutes(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
}
