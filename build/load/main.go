// Command load measures Hearth over HTTP, and beside it, in the same run
// and with the same requests, the reference PDS (@atproto/pds): createRecord
// sequentially and from concurrent clients, getRecord, listRecords, 1 MiB
// uploads, a large upload, firehose delivery to many subscribers, and each
// server's memory idle and under the load.
//
//	go build -o /tmp/hearth . && go run ./build/load -hearth /tmp/hearth -reference
//
// Each phase reports the server's own CPU time per operation (user and
// system, from /proc), and the table at the end the ratio between the two.
// -reference needs the npm packages of e2e/ (cd e2e && npm ci). Run it with
// GOMAXPROCS=1 GOMEMLIMIT=64MiB in the environment for a Pi-sized check:
// Hearth inherits both (the reference is given the same one core only
// by the machine).
//
// Both servers run on loopback with throwaway data folders and stand-in PLC
// directories, so nothing leaves the machine.
//
// -floor measures instead what the firehose figure is for a bare server
// that does nothing but fan frames out (floor.go): the part of the figure
// that is the machine's, the WebSocket library's and this tool's.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

func main() {
	bin := flag.String("hearth", "./hearth", "path of the hearth binary")
	ref := flag.Bool("reference", false, "measure the reference PDS too, in the same run")
	e2eDir := flag.String("e2e", "e2e", "folder of the npm packages (for -reference)")
	var cfg config
	flag.IntVar(&cfg.n, "n", 2000, "requests per phase")
	flag.IntVar(&cfg.clients, "c", 8, "concurrent clients for the concurrent phase")
	flag.IntVar(&cfg.uploads, "uploads", 200, "1 MiB uploads")
	flag.IntVar(&cfg.bigMiB, "big", 100, "size of the large upload, MiB")
	flag.IntVar(&cfg.subs, "subs", 100, "firehose subscribers")
	flag.StringVar(&cfg.profile, "profile", "", "take a CPU profile of Hearth during this phase (build it with -tags pprof)")
	flag.StringVar(&cfg.profileOut, "profile-out", "hearth-cpu.prof", "where the profile goes")
	flag.IntVar(&cfg.profileSecs, "profile-seconds", 5, "length of the profile")
	rounds := flag.Int("rounds", 1, "side-by-side runs, one server after the other in each")
	floorOnly := flag.Bool("floor", false, "measure only the fan-out floor: a bare server's firehose figure (floor.go)")
	floorServe := flag.String("floor-serve", "", "run as the bare fan-out server on this address (used by -floor)")
	floorSync := flag.Bool("floor-sync", false, "the bare server makes a durable write before each publication (used by -floor)")
	floorDir := flag.String("floor-dir", "", "where the bare server writes (used by -floor)")
	flag.Parse()
	if *floorServe != "" {
		serveFloor(*floorServe, *floorSync, *floorDir)
		return
	}
	if *floorOnly {
		for _, durable := range []bool{false, true} {
			p50, p99 := floor(cfg.subs, durable)
			what := "bare"
			if durable {
				what = "after a durable write (15 pages, 2 fdatasyncs)"
			}
			fmt.Printf("fan-out floor, %d subscribers, %d-byte frames, %s: last frame after the response p50 %.2f ms, p99 %.2f ms\n", cfg.subs, floorFrame, what, ms(p50), ms(p99))
		}
		return
	}
	limit := int64(cfg.bigMiB+1) << 20

	var all [][2]*figures
	for i := range max(1, *rounds) {
		if *rounds > 1 {
			fmt.Printf("\n== round %d of %d\n", i+1, *rounds)
		}
		var ours, theirs *figures
		runRef := func() {
			s := startReference(*e2eDir, limit)
			fmt.Printf("reference PDS up in %d ms (pid %d)\n", s.start.Milliseconds(), s.pid)
			theirs = run(s, cfg)
			s.stop()
			settle()
		}
		runOurs := func() {
			s := startHearth(*bin, limit, cfg.profile != "")
			fmt.Printf("Hearth up in %d ms (pid %d)\n", s.start.Milliseconds(), s.pid)
			ours = run(s, cfg)
			s.stop()
			settle()
		}
		// Each server goes first in every other round, so that neither is
		// always measured in the other's wake.
		switch {
		case !*ref:
			runOurs()
		case i%2 == 0:
			runRef()
			runOurs()
		default:
			runOurs()
			runRef()
		}
		report(os.Stdout, ours, theirs)
		all = append(all, [2]*figures{ours, theirs})
	}
	if len(all) > 1 {
		summarize(os.Stdout, all)
	}
}

// settle waits for the kernel to write back what the stopped server left
// dirty, so that the next one is not measured while the disk flushes the
// last one's data: the reference writes its blobs without an fsync, and
// their writeback ran through Hearth's first phase.
func settle() {
	syscall.Sync()
	time.Sleep(time.Second)
}

// summarize gives each figure's range over the rounds. A ratio is taken
// within a round, where both servers ran minutes apart at most: this VM's
// speed drifts by more than that between rounds.
func summarize(w io.Writer, all [][2]*figures) {
	span := func(get func(ours, theirs *figures) (float64, bool)) string {
		var v []float64
		for _, r := range all {
			if x, ok := get(r[0], r[1]); ok {
				v = append(v, x)
			}
		}
		if len(v) == 0 {
			return ""
		}
		slices.Sort(v)
		return fmt.Sprintf("%.3g–%.3g", v[0], v[len(v)-1])
	}
	fmt.Fprintf(w, "\n## %d rounds\n\n| operation | reference CPU/op, ms | Hearth CPU/op, ms | less CPU |\n|---|---|---|---|\n", len(all))
	for _, p := range all[0][0].phases {
		get := func(side int) func(ours, theirs *figures) (float64, bool) {
			return func(ours, theirs *figures) (float64, bool) {
				f := []*figures{ours, theirs}[side]
				if f == nil {
					return 0, false
				}
				r, ok := f.phase(p.name)
				return r.cpu, ok
			}
		}
		ratio := func(ours, theirs *figures) (float64, bool) {
			o, ok1 := get(0)(ours, theirs)
			t, ok2 := get(1)(ours, theirs)
			return t / o, ok1 && ok2 && o > 0
		}
		less := span(ratio)
		if less != "" {
			less += "×"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", p.name, span(get(1)), span(get(0)), less)
	}
	fig := func(name string, get func(f *figures) float64) {
		fmt.Fprintf(w, "Hearth %s: %s\n", name, span(func(o, _ *figures) (float64, bool) { return get(o), true }))
	}
	fig("cold start, ms", func(f *figures) float64 { return float64(f.start.Milliseconds()) })
	fig("idle RSS, MiB", func(f *figures) float64 { return f.idleRSS })
	fig("peak RssAnon through the load, MiB", func(f *figures) float64 { return f.peakAnon })
	fig("firehose p50, ms", func(f *figures) float64 { return ms(f.fireP50) })
	fig("firehose p99, ms", func(f *figures) float64 { return ms(f.fireP99) })
}

// report prints the side-by-side table: server CPU per operation and the
// ratio, then memory and the firehose.
func report(w io.Writer, ours, theirs *figures) {
	fmt.Fprintf(w, "\n| operation | reference CPU/op | Hearth CPU/op | ratio |\n|---|---|---|---|\n")
	for _, r := range ours.phases {
		line := fmt.Sprintf("| %s | | %.3f ms | |", r.name, r.cpu)
		if theirs != nil {
			if t, ok := theirs.phase(r.name); ok && r.cpu > 0 {
				line = fmt.Sprintf("| %s | %.3f ms | %.3f ms | %.1f× less |", r.name, t.cpu, r.cpu, t.cpu/r.cpu)
			}
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "\nHearth: cold start %d ms; idle RSS %.1f MiB (anon %.1f); sign-up peak anon %.1f MiB (the password hash); peak anon through the load %.1f MiB\n",
		ours.start.Milliseconds(), ours.idleRSS, ours.idleAnon, ours.signupAnon, ours.peakAnon)
	fmt.Fprintf(w, "Hearth: firehose p50 %.2f ms, p99 %.2f ms; large upload %.1f MB/s, getBlob %.1f MB/s\n", ms(ours.fireP50), ms(ours.fireP99), ours.bigMBs, ours.bigGetMBs)
	if theirs != nil {
		fmt.Fprintf(w, "reference: start %d ms; idle RSS %.1f MiB (anon %.1f); peak anon through the load %.1f MiB\n",
			theirs.start.Milliseconds(), theirs.idleRSS, theirs.idleAnon, theirs.peakAnon)
		fmt.Fprintf(w, "reference: firehose p50 %.2f ms, p99 %.2f ms; large upload %.1f MB/s, getBlob %.1f MB/s\n", ms(theirs.fireP50), ms(theirs.fireP99), theirs.bigMBs, theirs.bigGetMBs)
	}
}

// upload posts one blob and returns its CID.
func upload(base, token string, body io.Reader, size int64) (string, error) {
	req, _ := http.NewRequest("POST", base+"/xrpc/com.atproto.repo.uploadBlob", body)
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var up struct {
		Blob struct {
			Ref struct {
				Link string `json:"$link"`
			} `json:"ref"`
		} `json:"blob"`
	}
	if res.StatusCode != 200 {
		data, _ := io.ReadAll(res.Body)
		return "", fmt.Errorf("uploadBlob: %d %s", res.StatusCode, data)
	}
	err = json.NewDecoder(res.Body).Decode(&up)
	return up.Blob.Ref.Link, err
}

// firehose connects subs subscribers, makes writes one at a time, and
// reports how long after each write's response its frame reached the last
// subscriber. The subscribers read each frame into a buffer of their own,
// as a relay does, rather than through Conn.Read's new slice per frame:
// they share the machine with the daemon, and their garbage collection
// would be counted against it.
func firehose(base string, subs int, write func(i int) error) (p50, p99 time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u := "ws" + strings.TrimPrefix(base, "http") + "/xrpc/com.atproto.sync.subscribeRepos"
	got := make(chan time.Time, subs)
	for range subs {
		c, _, err := websocket.Dial(ctx, u, nil)
		if err != nil {
			log.Fatalf("firehose: %v", err)
		}
		c.SetReadLimit(8 << 20)
		defer c.CloseNow()
		go func() {
			buf := make([]byte, 64<<10) // a post's #commit is a few KiB
			for {
				// Without Done, the context costs the library nothing per read;
				// CloseNow ends the loop.
				_, r, err := c.Reader(context.Background())
				if err != nil {
					return
				}
				if n, err := io.ReadFull(r, buf); n == 0 || err != io.ErrUnexpectedEOF {
					log.Fatalf("firehose: a frame of %d bytes or more: %v", n, err)
				}
				got <- time.Now()
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	// Enough writes that the 99th percentile is not the second worst.
	const writes = 1000
	lags := make([]time.Duration, 0, writes)
	for i := range writes {
		if err := write(i); err != nil {
			log.Fatalf("firehose write: %v", err)
		}
		answered := time.Now()
		var last time.Time
		for range subs {
			select {
			case t := <-got:
				last = t
			case <-time.After(5 * time.Second):
				log.Fatal("firehose: a subscriber got no frame")
			}
		}
		lags = append(lags, max(0, last.Sub(answered)))
	}
	slices.Sort(lags)
	return lags[writes/2], lags[writes*99/100]
}

// cpuTime is the CPU time the process's threads have used, to the
// nanosecond: the sum of each thread's run time from /proc/<pid>/task/*/
// schedstat. /proc/<pid>/stat counts in 10 ms ticks, which is a tenth of
// a phase as short as 2000 getRecord calls on Hearth. A thread that exits
// takes its time with it; neither server's threads come and go under load,
// and the tick count is the fallback when schedstat cannot be read.
func cpuTime(pid int) time.Duration {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var sum int64
	for _, t := range tasks {
		data, err := os.ReadFile(t)
		var ns int64
		if err == nil {
			_, err = fmt.Sscan(string(data), &ns)
		}
		if err != nil {
			return ticks(pid)
		}
		sum += ns
	}
	if len(tasks) == 0 {
		return ticks(pid)
	}
	return time.Duration(sum)
}

// ticks is the user and system time from /proc/<pid>/stat.
func ticks(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses: utime is the
	// 14th field, stime the 15th, in clock ticks (USER_HZ, 100 on Linux).
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	var ut, st int64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// minorFaults is the process's minor page faults so far, from
// /proc/<pid>/stat: each is kernel time the CPU figure includes, and
// memory a garbage collector gave back and the process touched again.
func minorFaults(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	var n int64
	fmt.Sscan(f[7], &n) // minflt, the 10th field
	return n
}

// zeroish yields varied bytes cheaply, so the blob is not trivially small.
type zeroish struct{}

func (zeroish) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i * 31)
	}
	return len(p), nil
}

func must(a struct{ DID, AccessJwt string }) string {
	if a.DID == "" {
		log.Fatal("no DID from createAccount")
	}
	return a.DID
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}

func postJSON(base, nsid, token string, body, out any) error {
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", base+"/xrpc/"+nsid, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		return fmt.Errorf("%s: %d %s", nsid, res.StatusCode, data)
	}
	return json.Unmarshal(data, out)
}

func mustPost(base, nsid, token string, body, out any) {
	if err := postJSON(base, nsid, token, body, out); err != nil {
		log.Fatal(err)
	}
}

func getJSON(base, path string) error {
	res, err := client.Get(base + "/xrpc/" + path)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	if res.StatusCode != 200 {
		return fmt.Errorf("%s: %d", path, res.StatusCode)
	}
	return nil
}

// procMiB reads a memory figure (VmRSS, RssAnon) of the process.
func procMiB(pid int, field string) float64 {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, field+":") {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, field+":")), "%f", &kb)
			return kb / 1024
		}
	}
	return 0
}

func listenLoopback() net.Listener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	return l
}

func freePort() int {
	l := listenLoopback()
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitHealthy(base string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if res, err := http.Get(base + "/xrpc/_health"); err == nil && res.StatusCode == 200 {
			res.Body.Close()
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	log.Fatal("hearth did not start")
}
