// Command load measures a running Hearth over HTTP: createRecord
// sequentially and from concurrent clients, getRecord, listRecords, and the
// daemon's resident memory idle and after the load.
//
//	go build -o /tmp/hearth . && go run ./build/load -hearth /tmp/hearth
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
)

func main() {
	bin := flag.String("hearth", "./hearth", "path of the hearth binary")
	n := flag.Int("n", 2000, "requests per phase")
	clients := flag.Int("c", 8, "concurrent clients for the concurrent phase")
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
		"HEARTH_PLC_URL="+plc, "HEARTH_INVITE_REQUIRED=false", "HEARTH_RELAYS=http://127.0.0.1:9", "HEARTH_DEV=true", "HEARTH_RATE_LIMITS=false")
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitHealthy(base)
	time.Sleep(500 * time.Millisecond)
	fmt.Printf("idle RSS: %.1f MiB\n", rssMiB(cmd.Process.Pid))

	var acct struct{ DID, AccessJwt string }
	mustPost(base, "com.atproto.server.createAccount", "", map[string]any{"handle": "load.test", "email": "load@example.com", "password": "load-test-pw"}, &acct)
	acct.DID = must(acct)

	post := func(i int) map[string]any {
		return map[string]any{"repo": acct.DID, "collection": "app.bsky.feed.post", "record": map[string]any{
			"$type": "app.bsky.feed.post", "text": fmt.Sprintf("load test post %d, a typical length of text for a post", i),
			"createdAt": time.Now().UTC().Format(time.RFC3339Nano), "langs": []string{"en"}}}
	}
	var uris []string
	var mu sync.Mutex
	phase := func(name string, total, workers int, fn func(i int) error) {
		lat := make([]time.Duration, total)
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
		slices.Sort(lat)
		fmt.Printf("%-28s %7.0f req/s   p50 %6.2f ms   p99 %6.2f ms\n", name, float64(total)/el.Seconds(),
			float64(lat[total/2].Microseconds())/1000, float64(lat[total*99/100].Microseconds())/1000)
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
	fmt.Printf("loaded RSS: %.1f MiB\n", rssMiB(cmd.Process.Pid))

	// Blobs: a 50 MiB upload streamed from a generator, RSS sampled meanwhile.
	const size = 50 << 20
	stop := make(chan struct{})
	peak := 0.0
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
				peak = max(peak, rssMiB(cmd.Process.Pid))
			}
		}
	}()
	start := time.Now()
	req, _ := http.NewRequest("POST", base+"/xrpc/com.atproto.repo.uploadBlob", io.LimitReader(zeroish{}, size))
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Authorization", "Bearer "+acct.AccessJwt)
	res, err := client.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	var up struct {
		Blob struct {
			Ref struct {
				Link string `json:"$link"`
			} `json:"ref"`
		} `json:"blob"`
	}
	json.NewDecoder(res.Body).Decode(&up)
	res.Body.Close()
	el := time.Since(start)
	close(stop)
	fmt.Printf("uploadBlob 50 MiB            %7.1f MB/s   peak RSS %.1f MiB\n", size/el.Seconds()/1e6, peak)
	start = time.Now()
	res, err = client.Get(base + "/xrpc/com.atproto.sync.getBlob?did=" + acct.DID + "&cid=" + up.Blob.Ref.Link)
	if err != nil {
		log.Fatal(err)
	}
	got, _ := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	fmt.Printf("getBlob 50 MiB               %7.1f MB/s   (%d bytes)\n", float64(got)/time.Since(start).Seconds()/1e6, got)
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
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

func rssMiB(pid int) float64 {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "VmRSS:")), "%f", &kb)
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
		time.Sleep(50 * time.Millisecond)
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
