// Command load measures a running Hearth over HTTP: createRecord
// sequentially and from concurrent clients, getRecord, listRecords,
// 1 MiB uploads, a large upload, firehose delivery to many subscribers, and
// the daemon's memory idle, at peak and after the load.
//
//	go build -o /tmp/hearth . && go run ./build/load -hearth /tmp/hearth
//
// Each phase reports the daemon's own CPU time per operation (user and
// system, from /proc) and its ratio to the reference PDS's figure from
// issue 18, measured the same way on a 2-core machine. Run it with
// GOMAXPROCS=1 GOMEMLIMIT=64MiB in the environment for a Pi-sized check:
// the daemon inherits both.
//
// It starts the given binary on a loopback port with a throwaway data
// folder and an in-process stand-in PLC directory, so nothing leaves the
// machine.
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
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

func main() {
	bin := flag.String("hearth", "./hearth", "path of the hearth binary")
	n := flag.Int("n", 2000, "requests per phase")
	clients := flag.Int("c", 8, "concurrent clients for the concurrent phase")
	uploads := flag.Int("uploads", 200, "1 MiB uploads")
	bigMiB := flag.Int("big", 100, "size of the large upload, MiB")
	subs := flag.Int("subs", 100, "firehose subscribers")
	flag.Parse()

	plc := fakePLC()
	port := freePort()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	dir, _ := os.MkdirTemp("", "hearth-load-")
	defer os.RemoveAll(dir)
	cmd := exec.Command(*bin)
	cmd.Env = append(os.Environ(),
		"HEARTH_DATA="+dir, fmt.Sprintf("HEARTH_LISTEN=127.0.0.1:%d", port),
		"HEARTH_HOSTNAME=localhost", "HEARTH_PUBLIC_URL="+base, "HEARTH_HANDLE_DOMAINS=.test",
		"HEARTH_PLC_URL="+plc, "HEARTH_INVITE_REQUIRED=false", "HEARTH_RELAYS=http://127.0.0.1:9", "HEARTH_DEV=true", "HEARTH_RATE_LIMITS=false",
		fmt.Sprintf("HEARTH_BLOB_LIMIT=%d", int64(*bigMiB+1)<<20))
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	defer cmd.Process.Kill()
	started := time.Now()
	waitHealthy(base)
	fmt.Printf("cold start (to first healthy answer): %d ms\n", time.Since(started).Milliseconds())
	time.Sleep(500 * time.Millisecond)
	pid := cmd.Process.Pid
	fmt.Printf("idle RSS: %.1f MiB (anon %.1f MiB)\n", procMiB(pid, "VmRSS"), procMiB(pid, "RssAnon"))
	peakAnon := 0.0
	var peakMu sync.Mutex
	sampleDone := make(chan struct{})
	go func() {
		for {
			select {
			case <-sampleDone:
				return
			case <-time.After(5 * time.Millisecond):
				a := procMiB(pid, "RssAnon")
				peakMu.Lock()
				peakAnon = max(peakAnon, a)
				peakMu.Unlock()
			}
		}
	}()

	var acct struct{ DID, AccessJwt string }
	mustPost(base, "com.atproto.server.createAccount", "", map[string]any{"handle": "load.test", "email": "load@example.com", "password": "load-test-pw"}, &acct)
	acct.DID = must(acct)
	// Sign-up hashes the password (scrypt, a 32 MiB working set): its peak
	// is reported apart from the load's.
	time.Sleep(20 * time.Millisecond)
	peakMu.Lock()
	signupPeak := peakAnon
	peakAnon = procMiB(pid, "RssAnon")
	peakMu.Unlock()
	fmt.Printf("peak RssAnon during sign-up (the password hash): %.1f MiB\n", signupPeak)

	post := func(i int) map[string]any {
		return map[string]any{"repo": acct.DID, "collection": "app.bsky.feed.post", "record": map[string]any{
			"$type": "app.bsky.feed.post", "text": fmt.Sprintf("load test post %d, a typical length of text for a post", i),
			"createdAt": time.Now().UTC().Format(time.RFC3339Nano), "langs": []string{"en"}}}
	}
	var uris []string
	var mu sync.Mutex
	phase := func(name string, total, workers int, fn func(i int) error) {
		lat := make([]time.Duration, total)
		cpu0 := cpuTime(pid)
		start := time.Now()
		var wg sync.WaitGroup
		next := make(chan int)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					t := time.Now()
					if err := fn(i); err != nil {
						log.Fatalf("%s: %v", name, err)
					}
					lat[i] = time.Since(t)
				}
			}()
		}
		for i := 0; i < total; i++ {
			next <- i
		}
		close(next)
		wg.Wait()
		el := time.Since(start)
		perOp := float64((cpuTime(pid) - cpu0).Microseconds()) / 1000 / float64(total)
		slices.Sort(lat)
		ratio := ""
		if ref, ok := reference[name]; ok {
			ratio = fmt.Sprintf("   %5.1f× less than the reference (%.1f ms)", ref/perOp, ref)
		}
		peakMu.Lock()
		fmt.Printf("%-28s %7.0f req/s   p50 %6.2f ms   p99 %6.2f ms   server CPU %5.3f ms/op%s   (peak RssAnon so far %.1f MiB)\n", name, float64(total)/el.Seconds(),
			float64(lat[total/2].Microseconds())/1000, float64(lat[total*99/100].Microseconds())/1000, perOp, ratio, peakAnon)
		peakMu.Unlock()
	}
	create := func(i int) error {
		var out struct{ URI string }
		if err := postJSON(base, "com.atproto.repo.createRecord", acct.AccessJwt, post(i), &out); err != nil {
			return err
		}
		mu.Lock()
		uris = append(uris, out.URI)
		mu.Unlock()
		return nil
	}
	phase("createRecord sequential", *n, 1, create)
	phase(fmt.Sprintf("createRecord %d clients", *clients), *n, *clients, func(i int) error { return create(*n + i) })
	phase("getRecord", *n, *clients, func(i int) error {
		u := uris[i%len(uris)]
		rkey := u[strings.LastIndexByte(u, '/')+1:]
		return getJSON(base, "com.atproto.repo.getRecord?repo="+acct.DID+"&collection=app.bsky.feed.post&rkey="+rkey)
	})
	phase("listRecords (100 each)", *n/4, *clients, func(i int) error {
		return getJSON(base, "com.atproto.repo.listRecords?limit=100&repo="+acct.DID+"&collection=app.bsky.feed.post")
	})
	small := make([]byte, 1<<20)
	for i := range small {
		small[i] = byte(i * 31)
	}
	var smallMu sync.Mutex
	phase("uploadBlob 1 MiB", *uploads, 1, func(i int) error {
		smallMu.Lock()
		small[0], small[1], small[2] = byte(i), byte(i>>8), byte(i>>16) // a new blob each time
		body := bytes.Clone(small)
		smallMu.Unlock()
		_, err := upload(base, acct.AccessJwt, bytes.NewReader(body), int64(len(body)))
		return err
	})
	fmt.Printf("loaded RSS: %.1f MiB (anon %.1f MiB)\n", procMiB(pid, "VmRSS"), procMiB(pid, "RssAnon"))

	firehose(base, *subs, func(i int) error { return create(3*(*n) + i) })
	peakMu.Lock()
	fmt.Printf("(peak RssAnon so far %.1f MiB)\n", peakAnon)
	peakMu.Unlock()

	// A large upload streamed from a generator.
	size := int64(*bigMiB) << 20
	cpu0 := cpuTime(pid)
	start := time.Now()
	link, err := upload(base, acct.AccessJwt, io.LimitReader(zeroish{}, size), size)
	if err != nil {
		log.Fatal(err)
	}
	el := time.Since(start)
	peakMu.Lock()
	fmt.Printf("uploadBlob %d MiB            %7.1f MB/s   server CPU %.1f ms   (peak RssAnon so far %.1f MiB)\n", *bigMiB, float64(size)/el.Seconds()/1e6, float64((cpuTime(pid)-cpu0).Microseconds())/1000, peakAnon)
	peakMu.Unlock()
	start = time.Now()
	res, err := client.Get(base + "/xrpc/com.atproto.sync.getBlob?did=" + acct.DID + "&cid=" + link)
	if err != nil {
		log.Fatal(err)
	}
	got, _ := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	fmt.Printf("getBlob %d MiB               %7.1f MB/s   (%d bytes)\n", *bigMiB, float64(got)/time.Since(start).Seconds()/1e6, got)
	close(sampleDone)
	peakMu.Lock()
	fmt.Printf("peak anonymous memory (RssAnon) through the load, after sign-up: %.1f MiB\n", peakAnon)
	peakMu.Unlock()
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
}

// reference is the reference PDS's server CPU per operation (ms), from
// issue 18: @atproto/pds on the same 2-core machine, same client.
var reference = map[string]float64{
	"createRecord sequential": 15.3,
	"createRecord 8 clients":  13.4,
	"getRecord":               3.6,
	"listRecords (100 each)":  6.0,
	"uploadBlob 1 MiB":        13.5,
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
func firehose(base string, subs int, write func(i int) error) {
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
	fmt.Printf("firehose, %d subscribers      last frame after the response: p50 %.2f ms   p99 %.2f ms\n", subs,
		float64(lags[writes/2].Microseconds())/1000, float64(lags[writes*99/100].Microseconds())/1000)
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime(pid int) time.Duration {
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

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
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

// fakePLC accepts every operation: the load test measures Hearth, not PLC.
func fakePLC() string {
	var mu sync.Mutex
	last := map[string][]byte{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
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
