package mailtest

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"time"
)

// maxMessage bounds one DATA, so a runaway test fails instead of eating memory.
const maxMessage = 10 << 20

// session is one SMTP connection.
type session struct {
	srv  *Server
	conn net.Conn
	r    *bufio.Reader
	tls  bool
	auth bool
	from string
	to   []string
}

func (s *session) reply(format string, args ...any) error {
	_, err := fmt.Fprintf(s.conn, format+"\r\n", args...)
	return err
}

func (s *session) serve() {
	// A generous bound: a test that forgets a connection still ends.
	s.conn.SetDeadline(time.Now().Add(2 * time.Minute))
	s.r = bufio.NewReader(s.conn)
	_, s.tls = s.conn.(*tls.Conn)
	if s.reply("220 127.0.0.1 mailtest ESMTP") != nil {
		return
	}
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		if !s.command(strings.ToUpper(verb), arg) {
			return
		}
	}
}

// command answers one command; false ends the session.
func (s *session) command(verb, arg string) bool {
	opts := s.srv.opts
	var err error
	switch verb {
	case "EHLO", "HELO":
		s.reset()
		lines := []string{"127.0.0.1 greets " + arg, "8BITMIME"}
		if opts.TLS != nil && !s.tls {
			lines = append(lines, "STARTTLS")
		}
		if opts.User != "" {
			lines = append(lines, "AUTH PLAIN")
		}
		for i, l := range lines {
			sep := "-"
			if i == len(lines)-1 {
				sep = " "
			}
			if err = s.reply("250%s%s", sep, l); err != nil {
				break
			}
		}
	case "STARTTLS":
		if opts.TLS == nil || s.tls {
			err = s.reply("454 4.7.0 TLS not available")
			break
		}
		if err = s.reply("220 2.0.0 go ahead"); err != nil {
			break
		}
		tc := tls.Server(s.conn, opts.TLS)
		if err = tc.Handshake(); err != nil {
			return false
		}
		// RFC 3207: forget everything said before the handshake.
		s.conn, s.r, s.tls, s.auth = tc, bufio.NewReader(tc), true, false
		s.reset()
	case "AUTH":
		err = s.authPlain(arg)
	case "MAIL":
		switch {
		case opts.User != "" && !s.auth:
			err = s.reply("530 5.7.0 authentication required")
		case !strings.HasPrefix(strings.ToUpper(arg), "FROM:"):
			err = s.reply("501 5.5.4 syntax: MAIL FROM:<address>")
		default:
			s.from = path(arg[len("FROM:"):])
			err = s.reply("250 2.1.0 ok")
		}
	case "RCPT":
		switch {
		case s.from == "":
			err = s.reply("503 5.5.1 MAIL first")
		case !strings.HasPrefix(strings.ToUpper(arg), "TO:"):
			err = s.reply("501 5.5.4 syntax: RCPT TO:<address>")
		default:
			s.to = append(s.to, path(arg[len("TO:"):]))
			err = s.reply("250 2.1.5 ok")
		}
	case "DATA":
		if len(s.to) == 0 {
			err = s.reply("503 5.5.1 RCPT first")
			break
		}
		if err = s.reply("354 end with <CRLF>.<CRLF>"); err != nil {
			break
		}
		raw, rerr := s.readData()
		if rerr != nil {
			return false
		}
		if s.srv.deliverData(Received{From: s.from, To: s.to, Raw: raw}) {
			err = s.reply("250 2.0.0 queued")
		} else {
			err = s.reply("451 4.3.0 try again later")
		}
		s.reset()
	case "RSET":
		s.reset()
		err = s.reply("250 2.0.0 ok")
	case "NOOP":
		err = s.reply("250 2.0.0 ok")
	case "QUIT":
		s.reply("221 2.0.0 bye")
		return false
	default:
		err = s.reply("500 5.5.2 unknown command")
	}
	return err == nil
}

func (s *session) reset() { s.from, s.to = "", nil }

// authPlain checks AUTH PLAIN, with the response inline or after a 334.
func (s *session) authPlain(arg string) error {
	mech, resp, _ := strings.Cut(arg, " ")
	if !strings.EqualFold(mech, "PLAIN") || s.srv.opts.User == "" {
		return s.reply("504 5.5.4 mechanism not supported")
	}
	if resp == "" {
		if err := s.reply("334 "); err != nil {
			return err
		}
		line, err := s.r.ReadString('\n')
		if err != nil {
			return err
		}
		resp = strings.TrimRight(line, "\r\n")
	}
	dec, err := base64.StdEncoding.DecodeString(resp)
	if err != nil {
		return s.reply("501 5.5.2 bad base64")
	}
	// authzid NUL authcid NUL password
	parts := strings.Split(string(dec), "\x00")
	if len(parts) != 3 || parts[1] != s.srv.opts.User || parts[2] != s.srv.opts.Pass {
		return s.reply("535 5.7.8 authentication failed")
	}
	s.auth = true
	return s.reply("235 2.7.0 authenticated")
}

// readData reads up to the lone dot, undoing dot-stuffing and keeping the
// line ends as they came, so tests can check them.
func (s *session) readData() (string, error) {
	var b strings.Builder
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return "", err
		}
		if line == ".\r\n" || line == ".\n" {
			return b.String(), nil
		}
		if b.Len()+len(line) > maxMessage {
			return "", fmt.Errorf("mailtest: message over %d bytes", maxMessage)
		}
		b.WriteString(strings.TrimPrefix(line, "."))
	}
}

// path strips the angle brackets and parameters of a MAIL or RCPT path.
func path(arg string) string {
	arg = strings.TrimSpace(arg)
	if i := strings.IndexByte(arg, '>'); strings.HasPrefix(arg, "<") && i > 0 {
		return arg[1:i]
	}
	p, _, _ := strings.Cut(arg, " ")
	return p
}
