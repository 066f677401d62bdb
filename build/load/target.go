package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// server is one PDS under measurement: where to reach it and which process
// to read CPU time and memory from.
type server struct {
	name  string
	base  string
	pid   int
	start time.Duration // to the first healthy answer
	stop  func()
	pprof string // base URL of its /debug/pprof/, if it has one

}

// startHearth runs the binary on a loopback port with a throwaway data
// folder and an in-process stand-in PLC directory.
func startHearth(bin string, blobLimit int64, pprof bool) *server {
	plc := fakePLC()
	port := freePort()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	dir, _ := os.MkdirTemp("", "hearth-load-")
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"HEARTH_DATA="+dir, fmt.Sprintf("HEARTH_LISTEN=127.0.0.1:%d", port),
		"HEARTH_HOSTNAME=localhost", "HEARTH_PUBLIC_URL="+base, "HEARTH_HANDLE_DOMAINS=.test",
		"HEARTH_PLC_URL="+plc, "HEARTH_INVITE_REQUIRED=false", "HEARTH_RELAYS=", "HEARTH_DEV=true", "HEARTH_RATE_LIMITS=false",
		fmt.Sprintf("HEARTH_BLOB_LIMIT=%d", blobLimit))
	cmd.Stderr = io.Discard
	metrics := ""
	if pprof {
		metrics = fmt.Sprintf("127.0.0.1:%d", freePort())
		cmd.Env = append(cmd.Env, "HEARTH_METRICS_LISTEN="+metrics)
		metrics = "http://" + metrics
	}
	t := time.Now()
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	waitHealthy(base)
	return &server{name: "Hearth", base: base, pid: cmd.Process.Pid, start: time.Since(t), pprof: metrics, stop: func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		os.RemoveAll(dir)
	}}
}

// startReference runs the reference PDS (@atproto/pds from e2e/, on the
// Node 22 installed there) through e2e/refpds.mjs serve. It runs until its
// stdin closes.
func startReference(e2eDir string, blobLimit int64) *server {
	run := filepath.Join(e2eDir, "run-node.sh")
	cmd := exec.Command(run, filepath.Join(e2eDir, "refpds.mjs"), "serve")
	cmd.Env = append(os.Environ(), fmt.Sprintf("REFPDS_BLOB_LIMIT=%d", blobLimit), fmt.Sprintf("REFPDS_PORT=%d", freePort()))
	stdin, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	t := time.Now()
	if err := cmd.Start(); err != nil {
		log.Fatalf("reference PDS: %v (run npm ci in %s first)", err, e2eDir)
	}
	var ready struct {
		URL string `json:"url"`
		PID int    `json:"pid"`
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if err := json.Unmarshal(sc.Bytes(), &ready); err == nil && ready.URL != "" {
			break
		}
	}
	if ready.URL == "" {
		log.Fatal("reference PDS did not start")
	}
	go io.Copy(io.Discard, out)
	// run-node.sh execs node, so the child is the PDS itself; the script
	// reports its own pid to be sure.
	return &server{name: "reference", base: ready.URL, pid: ready.PID, start: time.Since(t), stop: func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	}}
}

// fakePLC accepts every operation and serves the newest as the document:
// the load measures the PDS, not PLC.
func fakePLC() string {
	var mu sync.Mutex
	last := map[string][]byte{}
	l := listenLoopback()
	go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		did := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0]
		mu.Lock()
		defer mu.Unlock()
		if r.Method == "POST" {
			last[did], _ = io.ReadAll(r.Body)
			return
		}
		w.Write(last[did])
	}))
	return "http://" + l.Addr().String()
}
