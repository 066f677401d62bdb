//go:build !pprof

package main

import "net/http"

// profileRoutes adds nothing without -tags pprof (see pprof_on.go).
func profileRoutes(*http.ServeMux) {}
