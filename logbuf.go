package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// logFlushEvery is how long an information line may wait in the buffer.
const logFlushEvery = 50 * time.Millisecond

// logBuffer gathers log lines and writes them out together. Every request
// logs a line, and writing each on its own was a system call per request,
// a quarter of a getRecord's CPU. Lines wait at most logFlushEvery; a
// warning or an error goes out at once (see flushingHandler), so what a
// crash leaves unwritten is only the last moments' request lines.
type logBuffer struct {
	mu        sync.Mutex
	w         *bufio.Writer
	scheduled bool
	every     time.Duration
}

func newLogBuffer(w io.Writer, every time.Duration) *logBuffer {
	return &logBuffer{w: bufio.NewWriterSize(w, 16<<10), every: every}
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.w.Write(p)
	if !b.scheduled && b.w.Buffered() > 0 {
		b.scheduled = true
		time.AfterFunc(b.every, func() { b.Flush() })
	}
	return n, err
}

// Flush writes out what is buffered.
func (b *logBuffer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.scheduled = false
	return b.w.Flush()
}

// flushingHandler writes each warning and error out as soon as it is
// logged: those are the lines someone reads after something went wrong.
type flushingHandler struct {
	slog.Handler
	buf *logBuffer
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.buf.Flush()
	}
	return err
}

func (h flushingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushingHandler{h.Handler.WithAttrs(attrs), h.buf}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{h.Handler.WithGroup(name), h.buf}
}

// newBufferedLogger is the daemon's logger on w, and the buffer to flush
// before exiting.
func newBufferedLogger(w io.Writer) (*slog.Logger, *logBuffer) {
	buf := newLogBuffer(w, logFlushEvery)
	return slog.New(flushingHandler{slog.NewTextHandler(buf, nil), buf}), buf
}
