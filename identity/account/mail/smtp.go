package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"

	"github.com/hearth-pds/hearth/store"
)

// permanentError marks a failure that trying again cannot mend: the mail
// cannot be written, or the server refused this recipient or this content
// with a 5xx answer. Failures of the server as a whole (no connection,
// refused login) are kept for retry, since the admin can fix them.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// permanentIf5xx wraps err as permanent when it is a 5xx SMTP reply.
func permanentIf5xx(err error) error {
	var tp *textproto.Error
	if errors.As(err, &tp) && tp.Code >= 500 {
		return &permanentError{err}
	}
	return err
}

// deliver sends one mail in one SMTP conversation: EHLO, STARTTLS when
// offered, AUTH PLAIN when configured, MAIL, RCPT, DATA. The whole
// conversation has one deadline, and ends early when ctx does.
func (s *Sender) deliver(ctx context.Context, m *store.Mail) error {
	msg := Message{To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML}
	raw, err := format(s.from, msg, s.Now())
	if err != nil {
		return &permanentError{err}
	}
	rcpt, err := recipient(m.To)
	if err != nil {
		return &permanentError{err}
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	conn, err := s.connect(ctx)
	if err != nil {
		return err
	}
	// Closing the connection is the only way to interrupt net/smtp.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	err = s.converse(conn, rcpt, raw)
	var ne net.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(ctx.Err(), context.DeadlineExceeded):
		// The connection's deadline and ctx's end at the same instant;
		// either may be the one that fires first.
		return fmt.Errorf("mail: %s: no answer within %v: %w", s.ep.Addr(), s.timeout, err)
	case ctx.Err() != nil:
		return fmt.Errorf("mail: %s: %w (%v)", s.ep.Addr(), ctx.Err(), err)
	}
	return err
}

// connect dials the server, with TLS from the start for smtps.
func (s *Sender) connect(ctx context.Context) (net.Conn, error) {
	conn, err := s.dial(ctx, "tcp", s.ep.Addr())
	if err != nil {
		return nil, fmt.Errorf("mail: connect %s: %w", s.ep.Addr(), err)
	}
	if !s.ep.Implicit {
		return conn, nil
	}
	tc := tls.Client(conn, s.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("mail: TLS with %s: %w", s.ep.Addr(), err)
	}
	return tc, nil
}

func (s *Sender) converse(conn net.Conn, rcpt string, raw []byte) error {
	addr := s.ep.Addr()
	c, err := smtp.NewClient(conn, s.ep.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("mail: greeting from %s: %w", addr, err)
	}
	defer c.Close()
	if err := c.Hello(domainOf(s.from.Address)); err != nil {
		return fmt.Errorf("mail: EHLO to %s: %w", addr, err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok && !s.ep.Implicit {
		if err := c.StartTLS(s.tls); err != nil {
			return fmt.Errorf("mail: STARTTLS with %s: %w", addr, err)
		}
	}
	if s.ep.User != "" {
		if _, secure := c.TLSConnectionState(); !secure && !loopback(s.ep.Host) {
			return fmt.Errorf("mail: %s offers no STARTTLS: refusing to send the password in clear", addr)
		}
		if ok, _ := c.Extension("AUTH"); !ok {
			return fmt.Errorf("mail: %s does not offer AUTH, but the URL has credentials", addr)
		}
		if err := c.Auth(smtp.PlainAuth("", s.ep.User, s.ep.Pass, s.ep.Host)); err != nil {
			return fmt.Errorf("mail: AUTH as %s at %s: %w", s.ep.User, addr, err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fmt.Errorf("mail: MAIL FROM %s at %s: %w", s.from.Address, addr, err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return fmt.Errorf("mail: RCPT TO %s at %s: %w", rcpt, addr, permanentIf5xx(err))
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail: DATA at %s: %w", addr, permanentIf5xx(err))
	}
	if _, err := w.Write(raw); err != nil {
		return fmt.Errorf("mail: DATA at %s: %w", addr, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail: DATA at %s: %w", addr, permanentIf5xx(err))
	}
	// The mail is accepted; a failed QUIT changes nothing.
	c.Quit()
	return nil
}

// loopback reports whether host is this machine, where a password in clear
// crosses no network (net/smtp's PlainAuth makes the same exception).
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// domainOf returns the domain of a bare address, "localhost" if it has
// none. It names the client in EHLO (the best guess a PDS has at its own
// mail name) and the right side of Message-IDs.
func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 && i < len(addr)-1 {
		return addr[i+1:]
	}
	return "localhost"
}
