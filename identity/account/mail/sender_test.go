package mail

import (
	"context"
	"crypto/tls"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearth-pds/hearth/identity/account/mail/mailtest"
	"github.com/hearth-pds/hearth/store"
)

// clock is a test clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openDB(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// run starts s.Run with the test clock and returns a function that stops
// it and waits until it has returned.
func run(t *testing.T, s *Sender, clk *clock) (stop func()) {
	t.Helper()
	s.Now = clk.Now
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	stop = func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after its context ended")
		}
	}
	t.Cleanup(stop)
	return stop
}

func newSender(t *testing.T, db *store.DB, cfg Config) *Sender {
	t.Helper()
	if cfg.From == "" {
		cfg.From = "Hearth <noreply@pds.example.com>"
	}
	s, err := NewSender(db, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// queue renders a sign-in mail with token for to, enqueues it and wakes s.
func queue(t *testing.T, db *store.DB, s *Sender, clk *clock, to, token string) {
	t.Helper()
	m, err := Render(KindSignIn, to, Data{Handle: "alice.test", Token: token, Hostname: "pds.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(context.Background(), func(tx *store.Tx) error {
		return Enqueue(tx, "did:plc:alice", m, KindSignIn, clk.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Wake()
}

// eventually polls cond for a while; the sender works in its own goroutine.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func queued(t *testing.T, db *store.DB) []*store.Mail {
	t.Helper()
	var out []*store.Mail
	db.View(func(tx *store.Tx) error {
		return tx.Outbox(func(m *store.Mail) error { out = append(out, m); return nil })
	})
	return out
}

// setup starts a receiver with opts and a sender to it on a fresh file.
func setup(t *testing.T, opts mailtest.Options, cfg Config) (*mailtest.Server, *store.DB, *Sender) {
	t.Helper()
	srv, err := mailtest.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	db := openDB(t, filepath.Join(t.TempDir(), "hearth.db"))
	cfg.URL = srv.URL()
	return srv, db, newSender(t, db, cfg)
}

func wait(t *testing.T, srv *mailtest.Server, n int) []mailtest.Received {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := srv.Wait(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestSendTransports(t *testing.T) {
	serverTLS, roots, err := mailtest.SelfSigned("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	clientTLS := &tls.Config{RootCAs: roots}
	tests := []struct {
		name string
		opts mailtest.Options
	}{
		{"plain on loopback", mailtest.Options{}},
		{"plain with auth on loopback", mailtest.Options{User: "u", Pass: "p"}},
		{"starttls with auth", mailtest.Options{TLS: serverTLS, User: "me@pds.example.com", Pass: "s3cr:t@"}},
		{"smtps with auth", mailtest.Options{TLS: serverTLS, Implicit: true, User: "u", Pass: "p"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, db, s := setup(t, tc.opts, Config{TLS: clientTLS})
			clk := newClock()
			run(t, s, clk)
			queue(t, db, s, clk, "Alice <alice@example.com>", "TOKEN-42")
			got := wait(t, srv, 1)[0]
			if got.From != "noreply@pds.example.com" || len(got.To) != 1 || got.To[0] != "alice@example.com" {
				t.Fatalf("envelope from %q to %q", got.From, got.To)
			}
			if got.Subject != "Your sign-in code" || !strings.Contains(got.Text, "TOKEN-42") || !strings.Contains(got.Text, "15 minutes") {
				t.Fatalf("subject %q, text:\n%s", got.Subject, got.Text)
			}
			if !strings.Contains(got.Raw, "Message-ID: <") || !strings.Contains(got.Raw, "@pds.example.com>\r\n") {
				t.Fatalf("no Message-ID in the From domain:\n%s", got.Raw)
			}
			eventually(t, "the outbox to empty", func() bool { return len(queued(t, db)) == 0 })
			if st := s.Status(); !st.Configured || st.Queued != 0 || st.LastSent.IsZero() || st.LastErr != "" {
				t.Fatalf("status %+v", st)
			}
		})
	}
}

func TestRetryAfterBackoff(t *testing.T) {
	srv, db, s := setup(t, mailtest.Options{}, Config{})
	clk := newClock()
	run(t, s, clk)
	srv.FailNext(1)
	queue(t, db, s, clk, "alice@example.com", "T1")
	eventually(t, "a failed attempt", func() bool {
		q := queued(t, db)
		return len(q) == 1 && q[0].Attempts == 1
	})
	m := queued(t, db)[0]
	if !strings.Contains(m.LastErr, "451") || !m.NextTry.Equal(clk.Now().Add(retryBase)) {
		t.Fatalf("after a 451: LastErr %q, NextTry %v", m.LastErr, m.NextTry)
	}
	st := s.Status()
	if st.Queued != 1 || !strings.Contains(st.LastErr, "451") || !st.LastErrAt.Equal(clk.Now()) {
		t.Fatalf("status %+v", st)
	}
	// Before the back-off has passed, a wake sends nothing.
	s.Wake()
	time.Sleep(50 * time.Millisecond)
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d mails sent during the back-off", n)
	}
	clk.Add(retryBase)
	s.Wake()
	if got := wait(t, srv, 1); !strings.Contains(got[0].Text, "T1") {
		t.Fatalf("retried mail: %q", got[0].Text)
	}
	eventually(t, "the outbox to empty", func() bool { return len(queued(t, db)) == 0 })
}

func TestDropAfterLastAttempt(t *testing.T) {
	srv, db, s := setup(t, mailtest.Options{}, Config{})
	clk := newClock()
	err := db.Update(context.Background(), func(tx *store.Tx) error {
		return tx.EnqueueMail(&store.Mail{To: "a@example.com", Subject: "s", Text: "t", Kind: KindNotice, Attempts: maxAttempts - 1})
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.FailNext(1)
	run(t, s, clk)
	eventually(t, "the mail to be dropped", func() bool { return len(queued(t, db)) == 0 })
	if st := s.Status(); !strings.Contains(st.LastErr, "451") || len(srv.Messages()) != 0 {
		t.Fatalf("status %+v, %d received", st, len(srv.Messages()))
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		n    int
		want time.Duration
	}{{1, 30 * time.Second}, {2, time.Minute}, {3, 2 * time.Minute}, {7, 32 * time.Minute}, {8, time.Hour}, {11, time.Hour}, {100, time.Hour}}
	for _, tc := range tests {
		if got := backoff(tc.n); got != tc.want {
			t.Errorf("backoff(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
}

// The outbox is in the bbolt file: a mail that could not leave before a
// restart leaves after it, and the last error is still shown.
func TestMailKeptAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hearth.db")
	dead, err := mailtest.Start(mailtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	deadURL := dead.URL()
	dead.Close() // now its port refuses connections
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	s := newSender(t, db, Config{URL: deadURL})
	clk := newClock()
	stop := run(t, s, clk)
	queue(t, db, s, clk, "alice@example.com", "KEPT")
	eventually(t, "a failed attempt", func() bool {
		q := queued(t, db)
		return len(q) == 1 && q[0].Attempts == 1
	})
	stop()
	db.Close()

	srv, err := mailtest.Start(mailtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	db = openDB(t, path)
	s = newSender(t, db, Config{URL: srv.URL()})
	if st := s.Status(); st.Queued != 1 || !strings.Contains(st.LastErr, "connect") || st.LastErrAt.IsZero() {
		t.Fatalf("status after restart %+v", st)
	}
	clk.Add(retryBase)
	run(t, s, clk)
	if got := wait(t, srv, 1); !strings.Contains(got[0].Text, "KEPT") {
		t.Fatalf("mail after restart: %q", got[0].Text)
	}
}

// A server that accepts and then says nothing holds only the sender, and
// only until the exchange's deadline.
func TestDeadServerNeverBlocksEnqueue(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	db := openDB(t, filepath.Join(t.TempDir(), "hearth.db"))
	s := newSender(t, db, Config{URL: "smtp://" + ln.Addr().String()})
	s.timeout = 300 * time.Millisecond
	clk := newClock()
	stop := run(t, s, clk)
	start := time.Now()
	for i := range 5 {
		queue(t, db, s, clk, "alice@example.com", string(rune('A'+i)))
	}
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Fatalf("five enqueues took %v with a dead server", d)
	}
	eventually(t, "the timeout to be recorded", func() bool { return s.Status().LastErr != "" })
	if q := queued(t, db); len(q) != 5 || q[0].Attempts != 1 || q[1].Attempts != 0 {
		t.Fatalf("after a timeout: %d queued, attempts %d/%d; want 5, the first tried once", len(q), q[0].Attempts, q[1].Attempts)
	}
	if st := s.Status(); st.Queued != 5 || !strings.Contains(st.LastErr, "no answer within") {
		t.Fatalf("status %+v", st)
	}
	// Shutting down interrupts a stuck exchange at once.
	clk.Add(time.Hour)
	s.timeout = time.Minute
	s.Wake()
	time.Sleep(20 * time.Millisecond)
	start = time.Now()
	stop()
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Run took %v to stop during an exchange", d)
	}
}

func TestUnconfigured(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "hearth.db"))
	s := newSender(t, db, Config{})
	if s.Configured() || s.Status().Configured {
		t.Fatal("a sender without URL says it is configured")
	}
	done := make(chan struct{})
	go func() { s.Run(context.Background()); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Run of an unconfigured sender did not return")
	}
	s.Wake() // harmless
}

func TestNewSenderRefuses(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "hearth.db"))
	for _, cfg := range []Config{
		{URL: "http://mail.example.com", From: "a@example.com"},
		{URL: "smtp://mail.example.com"},
		{URL: "smtp://mail.example.com", From: "not an address"},
	} {
		if _, err := NewSender(db, cfg, nil); err == nil {
			t.Errorf("NewSender(%+v): no error", cfg)
		}
	}
}
