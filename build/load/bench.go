package main

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// result is one phase's figures on one server.
type result struct {
	name     string
	perSec   float64
	p50, p99 time.Duration
	cpu      float64 // server CPU per operation, ms
	faults   float64 // the server's minor page faults per operation
}

// figures is everything one server's run measured.
type figures struct {
	phases       []result
	start        time.Duration
	idleRSS      float64 // MiB
	idleAnon     float64
	signupAnon   float64 // peak during sign-up (the password hash)
	peakAnon     float64 // peak through the load after sign-up
	fireP50      time.Duration
	fireP99      time.Duration
	bigMBs       float64 // large upload throughput
	bigCPU       float64 // its server CPU, ms
	bigGetMBs    float64
	bigUploadErr error
}

func (f *figures) phase(name string) (result, bool) {
	for _, r := range f.phases {
		if r.name == name {
			return r, true
		}
	}
	return result{}, false
}

// config is what to run.
type config struct {
	n, clients, uploads, bigMiB, subs int
	// profile names a phase to take a CPU profile of (Hearth built with
	// -tags pprof); profileOut is where it goes.
	profile, profileOut string
	profileSecs         int
}

// memSampler keeps the peak RssAnon of a process, sampled every 5 ms.
type memSampler struct {
	mu   sync.Mutex
	peak float64
	done chan struct{}
}

func sampleMemory(pid int) *memSampler {
	m := &memSampler{done: make(chan struct{})}
	go func() {
		for {
			select {
			case <-m.done:
				return
			case <-time.After(5 * time.Millisecond):
				a := procMiB(pid, "RssAnon")
				m.mu.Lock()
				m.peak = max(m.peak, a)
				m.mu.Unlock()
			}
		}
	}()
	return m
}

// reset returns the peak so far and starts a new one from now.
func (m *memSampler) reset(pid int) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.peak
	m.peak = procMiB(pid, "RssAnon")
	return p
}

func (m *memSampler) get() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.peak
}

// run measures one server with the same requests for every server.
func run(s *server, cfg config) *figures {
	f := &figures{start: s.start}
	time.Sleep(500 * time.Millisecond)
	pid := s.pid
	f.idleRSS, f.idleAnon = procMiB(pid, "VmRSS"), procMiB(pid, "RssAnon")
	mem := sampleMemory(pid)
	defer close(mem.done)

	var acct struct{ DID, AccessJwt string }
	mustPost(s.base, "com.atproto.server.createAccount", "", map[string]any{"handle": "load.test", "email": "load@example.com", "password": "load-test-pw"}, &acct)
	acct.DID = must(acct)
	time.Sleep(20 * time.Millisecond)
	f.signupAnon = mem.reset(pid)

	post := func(i int) map[string]any {
		return map[string]any{"repo": acct.DID, "collection": "app.bsky.feed.post", "record": map[string]any{
			"$type": "app.bsky.feed.post", "text": fmt.Sprintf("load test post %d, a typical length of text for a post", i),
			"createdAt": time.Now().UTC().Format(time.RFC3339Nano), "langs": []string{"en"}}}
	}
	var uris []string
	var mu sync.Mutex
	phase := func(name string, total, workers int, fn func(i int) error) {
		if name == cfg.profile && s.pprof != "" {
			done := profile(s.pprof, cfg.profileSecs, cfg.profileOut)
			defer func() { <-done }()
		}
		r := measure(pid, name, total, workers, fn)
		f.phases = append(f.phases, r)
		fmt.Printf("  %-9s %-26s %7.0f req/s   p50 %6.2f ms   p99 %6.2f ms   server CPU %6.3f ms/op   %6.1f faults/op   (peak RssAnon %.1f MiB)\n",
			s.name, name, r.perSec, ms(r.p50), ms(r.p99), r.cpu, r.faults, mem.get())
	}
	create := func(i int) error {
		var out struct{ URI string }
		if err := postJSON(s.base, "com.atproto.repo.createRecord", acct.AccessJwt, post(i), &out); err != nil {
			return err
		}
		mu.Lock()
		uris = append(uris, out.URI)
		mu.Unlock()
		return nil
	}
	phase("createRecord sequential", cfg.n, 1, create)
	phase(fmt.Sprintf("createRecord %d clients", cfg.clients), cfg.n, cfg.clients, func(i int) error { return create(cfg.n + i) })
	phase("getRecord", cfg.n, cfg.clients, func(i int) error {
		u := uris[i%len(uris)]
		rkey := u[strings.LastIndexByte(u, '/')+1:]
		return getJSON(s.base, "com.atproto.repo.getRecord?repo="+acct.DID+"&collection=app.bsky.feed.post&rkey="+rkey)
	})
	phase("listRecords (100 each)", cfg.n/4, cfg.clients, func(i int) error {
		return getJSON(s.base, "com.atproto.repo.listRecords?limit=100&repo="+acct.DID+"&collection=app.bsky.feed.post")
	})
	small := make([]byte, 1<<20)
	for i := range small {
		small[i] = byte(i * 31)
	}
	phase("uploadBlob 1 MiB", cfg.uploads, 1, func(i int) error {
		body := bytes.Clone(small)
		body[0], body[1], body[2] = byte(i), byte(i>>8), byte(i>>16) // a new blob each time
		_, err := upload(s.base, acct.AccessJwt, bytes.NewReader(body), int64(len(body)))
		return err
	})

	f.fireP50, f.fireP99 = firehose(s.base, cfg.subs, func(i int) error { return create(3*cfg.n + i) })
	fmt.Printf("  %-9s firehose, %d subscribers: last frame after the response p50 %.2f ms, p99 %.2f ms\n", s.name, cfg.subs, ms(f.fireP50), ms(f.fireP99))

	bigUpload(s, cfg, f, acct.AccessJwt, acct.DID)
	f.peakAnon = mem.get()
	return f
}

// measure runs total calls of fn from workers goroutines and takes the
// server's CPU time over them.
func measure(pid int, name string, total, workers int, fn func(i int) error) result {
	lat := make([]time.Duration, total)
	faults0 := minorFaults(pid)
	cpu0 := cpuTime(pid)
	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
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
	for i := range total {
		next <- i
	}
	close(next)
	wg.Wait()
	el := time.Since(start)
	slices.Sort(lat)
	return result{name: name, perSec: float64(total) / el.Seconds(), p50: lat[total/2], p99: lat[total*99/100],
		cpu:    float64((cpuTime(pid) - cpu0).Microseconds()) / 1000 / float64(total),
		faults: float64(minorFaults(pid)-faults0) / float64(total)}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// profile fetches a CPU profile of secs seconds from a pprof endpoint into
// out; the channel closes when it is written.
func profile(base string, secs int, out string) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		res, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, secs))
		if err != nil {
			log.Printf("profile: %v", err)
			return
		}
		defer res.Body.Close()
		f, err := os.Create(out)
		if err != nil {
			log.Printf("profile: %v", err)
			return
		}
		defer f.Close()
		io.Copy(f, res.Body)
		fmt.Printf("  (CPU profile of %d s written to %s)\n", secs, out)
	}()
	return done
}

// bigUpload streams a large upload from a generator, then reads it back.
func bigUpload(s *server, cfg config, f *figures, token, did string) {
	pid := s.pid
	size := int64(cfg.bigMiB) << 20
	cpu0 := cpuTime(pid)
	start := time.Now()
	link, err := upload(s.base, token, io.LimitReader(zeroish{}, size), size)
	if err != nil {
		f.bigUploadErr = err
		log.Printf("%s: large upload: %v", s.name, err)
	} else {
		f.bigMBs = float64(size) / time.Since(start).Seconds() / 1e6
		f.bigCPU = float64((cpuTime(pid) - cpu0).Microseconds()) / 1000
		start = time.Now()
		res, err := client.Get(s.base + "/xrpc/com.atproto.sync.getBlob?did=" + did + "&cid=" + link)
		if err != nil {
			log.Fatal(err)
		}
		got, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		// The reference serves only blobs a record uses; this one has none.
		if res.StatusCode == 200 {
			f.bigGetMBs = float64(got) / time.Since(start).Seconds() / 1e6
		}
		fmt.Printf("  %-9s uploadBlob %d MiB %.1f MB/s (server CPU %.0f ms), getBlob %.1f MB/s\n", s.name, cfg.bigMiB, f.bigMBs, f.bigCPU, f.bigGetMBs)
	}
}
