package mailtest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"sync"
)

// Options choose how the receiver talks.
type Options struct {
	// TLS, when set, is offered as STARTTLS (or used from the start when
	// Implicit).
	TLS *tls.Config
	// Implicit makes the receiver an smtps one: TLS before the greeting.
	// It needs TLS.
	Implicit bool
	// User and Pass, when User is set, must be given with AUTH PLAIN
	// before MAIL.
	User, Pass string
}

// Received is one accepted mail.
type Received struct {
	From    string   `json:"from"` // the envelope sender
	To      []string `json:"to"`   // the envelope recipients
	Raw     string   `json:"raw"`  // the message as sent, dot-stuffing undone, CRLFs kept
	Subject string   `json:"subject"`
	Text    string   `json:"text"` // the decoded text/plain part, "" if none
}

// Server is a running receiver.
type Server struct {
	opts Options
	ln   net.Listener
	wg   sync.WaitGroup

	mu       sync.Mutex
	msgs     []Received
	changed  chan struct{} // closed and replaced when a mail arrives
	failNext int
	conns    map[net.Conn]struct{}
	closed   bool
}

// Start listens on a free port of 127.0.0.1 and serves until Close.
func Start(opts Options) (*Server, error) {
	if opts.Implicit && opts.TLS == nil {
		return nil, errors.New("mailtest: Implicit needs a TLS configuration")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("mailtest: listen: %w", err)
	}
	if opts.Implicit {
		ln = tls.NewListener(ln, opts.TLS)
	}
	s := &Server{opts: opts, ln: ln, changed: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr returns host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL returns the smtp:// or smtps:// URL of the receiver, with the
// credentials it expects.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.Addr()}
	if s.opts.Implicit {
		u.Scheme = "smtps"
	}
	if s.opts.User != "" {
		u.User = url.UserPassword(s.opts.User, s.opts.Pass)
	}
	return u.String()
}

// Close stops listening, cuts every open connection and waits for them.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.ln.Close()
	s.wg.Wait()
}

// Messages returns the mails received so far, oldest first.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.msgs...)
}

// Wait returns the mails once at least n have arrived, or ctx's error.
func (s *Server) Wait(ctx context.Context, n int) ([]Received, error) {
	for {
		s.mu.Lock()
		if len(s.msgs) >= n {
			out := append([]Received(nil), s.msgs...)
			s.mu.Unlock()
			return out, nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("mailtest: waiting for %d mails: %w", n, ctx.Err())
		case <-ch:
		}
	}
}

// FailNext answers the next n DATA commands with a 451 temporary failure
// (after the message is read), so the mails are not kept.
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	s.failNext = n
	s.mu.Unlock()
}

// Handler serves GET /messages: the received mails as a JSON array.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /messages", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		msgs := s.Messages()
		if msgs == nil {
			msgs = []Received{}
		}
		json.NewEncoder(w).Encode(msgs)
	})
	return mux
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			(&session{srv: s, conn: c}).serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

// deliverData decides the fate of one DATA: false means "fail it".
func (s *Server) deliverData(r Received) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failNext > 0 {
		s.failNext--
		return false
	}
	r.Subject, r.Text = decode(r.Raw)
	s.msgs = append(s.msgs, r)
	close(s.changed)
	s.changed = make(chan struct{})
	return true
}

// decode reads the subject and the text/plain part of raw; what does not
// parse is left empty, for the test to find.
func decode(raw string) (subject, text string) {
	m, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		return "", ""
	}
	subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		subject = m.Header.Get("Subject")
	}
	typ, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		return subject, ""
	}
	switch {
	case typ == "text/plain":
		return subject, body(m.Body, m.Header.Get("Content-Transfer-Encoding"))
	case strings.HasPrefix(typ, "multipart/"):
		mr := multipart.NewReader(m.Body, params["boundary"])
		for {
			// NextRawPart: NextPart would undo quoted-printable itself and
			// hide whether the sender wrote it right.
			p, err := mr.NextRawPart()
			if err != nil {
				return subject, ""
			}
			if pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); pt == "text/plain" {
				return subject, body(p, p.Header.Get("Content-Transfer-Encoding"))
			}
		}
	}
	return subject, ""
}

func body(r io.Reader, encoding string) string {
	if strings.EqualFold(encoding, "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, _ := io.ReadAll(r)
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}
