package mail

import (
	"errors"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestEncodeHeader(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"Your sign-in code", "Your sign-in code", nil},
		{"Código de acceso", "=?utf-8?q?C=C3=B3digo_de_acceso?=", nil},
		{"a\r\nBcc: x@example.com", "", ErrHeaderInjection},
		{"a\nb", "", ErrHeaderInjection},
		{"a\rb", "", ErrHeaderInjection},
	}
	for _, tc := range tests {
		got, err := encodeHeader("Subject", tc.in)
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("encodeHeader(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// FuzzEncodeHeader: whatever the subject, the header has no bare line
// break, no line past the limit, and decodes back to the subject.
func FuzzEncodeHeader(f *testing.F) {
	for _, s := range []string{"plain", "é", strings.Repeat("ü", 300), "a\r\nb", "=?x?=", "\x00\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc, err := encodeHeader("Subject", s)
		if strings.ContainsAny(s, "\r\n") {
			if !errors.Is(err, ErrHeaderInjection) {
				t.Fatalf("line break accepted: %q → %q, %v", s, enc, err)
			}
			return
		}
		if err != nil {
			return // too long: refused, fine
		}
		for _, line := range strings.Split(enc, "\r\n ") {
			if strings.ContainsAny(line, "\r\n") || len(line)+len("Subject: ") > maxHeaderLine {
				t.Fatalf("bad header line %q", line)
			}
		}
		// An ASCII subject that looks like an encoded word is sent as it
		// is; a reader may decode it, but it can only spoof itself.
		if !utf8.ValidString(s) || strings.Contains(s, "=?") {
			return
		}
		dec, err := new(mime.WordDecoder).DecodeHeader(strings.ReplaceAll(enc, "\r\n ", " "))
		if err != nil || dec != s {
			t.Fatalf("%q → %q → %q, %v", s, enc, dec, err)
		}
	})
}

func TestFormat(t *testing.T) {
	from := &mail.Address{Name: "Hearth Ärzte", Address: "noreply@pds.example.com"}
	date := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		m    Message
		want []string
		err  error
	}{
		{"text only", Message{To: "a@example.com", Subject: "Hi", Text: "line\nnext"},
			[]string{"From: =?utf-8?q?Hearth_=C3=84rzte?= <noreply@pds.example.com>\r\n", "To: <a@example.com>\r\n",
				"Subject: Hi\r\n", "Date: Sat, 01 Mar 2025 12:00:00 +0000\r\n", "@pds.example.com>\r\n", "MIME-Version: 1.0\r\n",
				"Content-Type: text/plain; charset=utf-8\r\n", "\r\n\r\nline\r\nnext"}, nil},
		{"alternative", Message{To: "Bé <b@example.com>", Subject: "Ça", Text: "t", HTML: "<p>é</p>"},
			[]string{"To: =?utf-8?q?B=C3=A9?= <b@example.com>\r\n", "Subject: =?utf-8?q?=C3=87a?=\r\n",
				"multipart/alternative; boundary=", "Content-Type: text/html; charset=utf-8", "<p>=C3=A9</p>"}, nil},
		{"injected subject", Message{To: "a@example.com", Subject: "x\r\nBcc: c@example.com", Text: "t"}, nil, ErrHeaderInjection},
		{"injected to", Message{To: "a@example.com\nBcc: c@example.com", Subject: "x", Text: "t"}, nil, ErrHeaderInjection},
		{"two recipients", Message{To: "a@example.com, b@example.com", Subject: "x", Text: "t"}, nil, ErrBadAddress},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := format(from, tc.m, date)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(raw), w) {
					t.Errorf("message lacks %q:\n%s", w, raw)
				}
			}
			if strings.Contains(strings.ReplaceAll(string(raw), "\r\n", ""), "\n") {
				t.Errorf("bare LF in message:\n%q", raw)
			}
		})
	}
}
