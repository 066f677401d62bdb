package mail

import (
	"errors"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		raw  string
		want Endpoint // zero when an error is expected
	}{
		{"smtp://mail.example.com", Endpoint{Host: "mail.example.com", Port: "587"}},
		{"SMTP://mail.example.com:25", Endpoint{Host: "mail.example.com", Port: "25"}},
		{"smtps://u:p@mail.example.com", Endpoint{Implicit: true, Host: "mail.example.com", Port: "465", User: "u", Pass: "p"}},
		{"smtp://me%40example.com:p%40ss%3Aw@127.0.0.1:2525/", Endpoint{Host: "127.0.0.1", Port: "2525", User: "me@example.com", Pass: "p@ss:w"}},
		{"smtp://[::1]:2525", Endpoint{Host: "::1", Port: "2525"}},
		{"", Endpoint{}},
		{"mail.example.com:587", Endpoint{}},
		{"http://mail.example.com", Endpoint{}},
		{"smtp:mail.example.com", Endpoint{}},
		{"smtp://", Endpoint{}},
		{"smtp://:587", Endpoint{}},
		{"smtp://host:", Endpoint{}},
		{"smtp://host:0", Endpoint{}},
		{"smtp://host:65536", Endpoint{}},
		{"smtp://host:025", Endpoint{}},
		{"smtp://host:smtp", Endpoint{}},
		{"smtp://host/path", Endpoint{}},
		{"smtp://host?tls=no", Endpoint{}},
		{"smtp://host#x", Endpoint{}},
		{"smtp://user@host", Endpoint{}},
		{"smtp://user:@host", Endpoint{}},
		{"smtp://:secret@host", Endpoint{}},
		{"smtp://u:se cret@host", Endpoint{}},
		{"smtp://::1", Endpoint{}},
		{"smtp://ho%20st", Endpoint{}},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			got, err := ParseURL(tc.raw)
			if tc.want == (Endpoint{}) {
				if !errors.Is(err, ErrBadURL) {
					t.Fatalf("ParseURL(%q) = %+v, %v; want ErrBadURL", tc.raw, got, err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Fatalf("error repeats the password: %v", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseURL(%q) = %+v, %v; want %+v", tc.raw, got, err, tc.want)
			}
			if strings.Contains(got.String(), "p@ss") {
				t.Fatalf("String() shows the password: %s", got)
			}
		})
	}
}

// FuzzParseURL: configuration is typed by people; whatever it holds,
// ParseURL must not panic, and what it accepts must survive a round trip
// through URL and never leak the password through String.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"smtp://u:p@host:587", "smtps://h", "smtp://[::1]:25", "smtp://a%40b:c%2Fd@x", "smtp:x", "smtp://h:99999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		e, err := ParseURL(raw)
		if err != nil {
			if !errors.Is(err, ErrBadURL) {
				t.Fatalf("error %v does not wrap ErrBadURL", err)
			}
			return
		}
		if e.Host == "" || e.Port == "" || (e.User == "") != (e.Pass == "") {
			t.Fatalf("accepted %q as incomplete %+v", raw, e)
		}
		again, err := ParseURL(e.URL())
		if err != nil || again != e {
			t.Fatalf("round trip of %q: %q → %+v, %v; want %+v", raw, e.URL(), again, err, e)
		}
		if e.Pass != "" && strings.Contains(e.String(), ":"+e.Pass+"@") {
			t.Fatalf("String() %q shows the password", e.String())
		}
	})
}
