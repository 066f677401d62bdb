//go:build !linux

package main

// reexecTuned does nothing off Linux; see sysmon_linux.go.
func reexecTuned(args []string, environ []string) {}
