package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// Message is one rendered mail. Text is required; HTML is optional and,
// when set, is sent as the alternative to Text.
type Message struct {
	To, Subject, Text, HTML string
}

// check refuses what could not be sent as written: a line break in a
// header (it would let the value add headers of its own) or a recipient
// that is not one address.
func (m Message) check() error {
	if strings.ContainsAny(m.To, "\r\n") {
		return fmt.Errorf("%w: To", ErrHeaderInjection)
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return fmt.Errorf("%w: Subject", ErrHeaderInjection)
	}
	if _, err := recipient(m.To); err != nil {
		return err
	}
	return nil
}

// recipient returns the bare address of to, for RCPT TO.
func recipient(to string) (string, error) {
	a, err := mail.ParseAddress(to)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrBadAddress, to, err)
	}
	return a.Address, nil
}

// maxHeaderLine is RFC 5322's hard limit on a line, without its CRLF.
const maxHeaderLine = 998

// encodeHeader returns v ready to follow "Name: ". Printable ASCII stays
// as it is; anything else becomes RFC 2047 Q-encoded words, folded between
// words so that no line passes the limit. A CR or LF is refused, never
// cleaned: a header value with a line break is an attack or a bug.
func encodeHeader(name, v string) (string, error) {
	if strings.ContainsAny(v, "\r\n") {
		return "", fmt.Errorf("%w: %s", ErrHeaderInjection, name)
	}
	enc := mime.QEncoding.Encode("utf-8", v)
	if enc != v {
		// The encoder separates its words with a space; folding there
		// changes nothing once unfolded, since space between encoded
		// words is not part of the text.
		enc = strings.ReplaceAll(enc, "?= =?", "?=\r\n =?")
	}
	prefix := len(name) + len(": ") // only the first line carries it
	for _, line := range strings.Split(enc, "\r\n") {
		if n := prefix + len(line); n > maxHeaderLine {
			return "", fmt.Errorf("mail: %s header line is %d bytes, over %d", name, n, maxHeaderLine)
		}
		prefix = 0
	}
	return enc, nil
}

// format writes m as an RFC 5322 message from from (already parsed), with
// CRLF line ends throughout. Bodies are quoted-printable, so any text is
// 7-bit safe and no line is too long; dot-stuffing is left to the DATA
// writer of net/smtp.
func format(from *mail.Address, m Message, date time.Time) ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrBadAddress, m.To, err)
	}
	subject, err := encodeHeader("Subject", m.Subject)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	header := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	// mail.Address.String Q-encodes a name that needs it.
	header("From", from.String())
	header("To", to.String())
	header("Subject", subject)
	header("Date", date.Format(time.RFC1123Z))
	header("Message-ID", messageID(from.Address))
	header("MIME-Version", "1.0")
	if m.HTML == "" {
		header("Content-Type", "text/plain; charset=utf-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, m.Text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	mw := multipart.NewWriter(&b)
	header("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	b.WriteString("\r\n")
	for _, part := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, fmt.Errorf("mail: write %s part: %w", part.typ, err)
		}
		if err := writeQP(w, part.body); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("mail: close multipart: %w", err)
	}
	return b.Bytes(), nil
}

// writeQP writes s quoted-printable; in text mode the writer turns every
// line end, LF or CRLF, into CRLF.
func writeQP(w io.Writer, s string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(s)); err != nil {
		return fmt.Errorf("mail: encode body: %w", err)
	}
	if err := qp.Close(); err != nil {
		return fmt.Errorf("mail: encode body: %w", err)
	}
	return nil
}

// messageID makes a unique id in the domain of the From address, as RFC
// 5322 asks, so that replies and bounces can be matched to the server.
func messageID(from string) string {
	return "<" + hex.EncodeToString(randomBytes(16)) + "@" + domainOf(from) + ">"
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails, per crypto/rand
	return b
}
