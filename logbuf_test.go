package main

import (
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBufferedLogger(t *testing.T) {
	for _, c := range []struct {
		name  string
		level slog.Level
		at    time.Duration // the line must be out by then, and (when > 0) not before
	}{
		{"information waits for the interval", slog.LevelInfo, time.Hour},
		{"a warning goes out at once", slog.LevelWarn, 0},
		{"an error goes out at once", slog.LevelError, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := &syncBuffer{}
			buf := newLogBuffer(out, time.Hour)
			log := slog.New(flushingHandler{slog.NewTextHandler(buf, nil), buf}).With("gen", 1)
			log.Log(t.Context(), c.level, "hello", "n", 7)
			got := out.String()
			if c.at == 0 {
				if !strings.Contains(got, "msg=hello") || !strings.Contains(got, "n=7") || !strings.Contains(got, "gen=1") {
					t.Fatalf("line not written at once: %q", got)
				}
				return
			}
			if got != "" {
				t.Fatalf("information line written before the interval: %q", got)
			}
			buf.Flush()
			if got := out.String(); !strings.Contains(got, "msg=hello") {
				t.Fatalf("Flush left the line out: %q", got)
			}
		})
	}
}

func TestBufferedLoggerFlushesOnItsOwn(t *testing.T) {
	out := &syncBuffer{}
	buf := newLogBuffer(out, 5*time.Millisecond)
	log := slog.New(flushingHandler{slog.NewTextHandler(buf, nil), buf})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				log.Info("request", "client", i, "n", j)
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(out.String(), "\n") < 400 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 400 lines written after the interval", strings.Count(out.String(), "\n"))
		}
		time.Sleep(time.Millisecond)
	}
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if !strings.HasPrefix(line, "time=") || !strings.Contains(line, "msg=request") {
			t.Fatalf("torn line %q", line)
		}
	}
}

// BenchmarkRequestLine is one request's log line written to a pipe (where
// systemd's journal reads it), line by line and through the buffer.
func BenchmarkRequestLine(b *testing.B) {
	for _, buffered := range []bool{false, true} {
		name := map[bool]string{false: "unbuffered", true: "buffered"}[buffered]
		b.Run(name, func(b *testing.B) {
			r, w, err := os.Pipe()
			if err != nil {
				b.Fatal(err)
			}
			go io.Copy(io.Discard, r)
			defer r.Close()
			defer w.Close()
			log := slog.New(slog.NewTextHandler(w, nil))
			if buffered {
				log, _ = newBufferedLogger(w)
			}
			for b.Loop() {
				log.LogAttrs(b.Context(), slog.LevelInfo, "request", slog.String("method", "GET"),
					slog.String("path", "/xrpc/com.atproto.repo.getRecord"), slog.Int("status", 200),
					slog.Float64("dur_ms", 0.123), slog.String("ip", "127.0.0.1"))
			}
		})
	}
}
