package mail

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRender(t *testing.T) {
	d := Data{Handle: "alice.example.com", Token: "ABCDE-12345", Hostname: "pds.example.com", PublicURL: "https://pds.example.com"}
	tests := []struct {
		kind    string
		d       Data
		subject string
		says    []string // in both the text and the HTML
		err     error
	}{
		{KindConfirmEmail, d, "Confirm your email address", []string{"ABCDE-12345", "15 minutes", "confirm this email", "If this wasn't you, ignore this mail"}, nil},
		{KindUpdateEmail, d, "Confirm your new email address", []string{"ABCDE-12345", "15 minutes", "change the email address", "change it now"}, nil},
		{KindResetPassword, d, "Reset your password", []string{"ABCDE-12345", "15 minutes", "new password", "ignore this mail"}, nil},
		{KindDeleteAccount, d, "Confirm deleting your account", []string{"ABCDE-12345", "15 minutes", "cannot be undone", "change it now"}, nil},
		{KindPLCOperation, d, "Confirm a change to your identity", []string{"ABCDE-12345", "15 minutes", "(its DID)", "change it now"}, nil},
		{KindSignIn, d, "Your sign-in code", []string{"ABCDE-12345", "15 minutes", "finish signing in", "change it now"}, nil},
		{KindSignIn, Data{Token: "X", Expires: 2 * time.Hour}, "Your sign-in code", []string{"2 hours", "your PDS"}, nil},
		{KindNotice, Data{Subject: "Maintenance  tonight", Body: "We restart at 22:00.\n\nBack by <23:00> & later.", Hostname: "pds.example.com"},
			"Maintenance tonight", []string{"We restart at 22:00.", "pds.example.com"}, nil},
		{KindNotice, Data{Subject: "x"}, "", nil, ErrIncomplete},
		{KindResetPassword, Data{Handle: "a"}, "", nil, ErrIncomplete},
		{"welcome", d, "", nil, ErrUnknownKind},
	}
	for _, tc := range tests {
		t.Run(tc.kind+"/"+tc.subject, func(t *testing.T) {
			m, err := Render(tc.kind, "alice@example.com", tc.d)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.To != "alice@example.com" || m.Subject != tc.subject {
				t.Fatalf("To %q Subject %q, want %q", m.To, m.Subject, tc.subject)
			}
			for _, s := range tc.says {
				if !strings.Contains(m.Text, s) {
					t.Errorf("text lacks %q:\n%s", s, m.Text)
				}
				if !strings.Contains(m.HTML, s) {
					t.Errorf("html lacks %q:\n%s", s, m.HTML)
				}
			}
			if strings.Contains(m.Text, "<no value>") || strings.Contains(m.HTML, "<no value>") {
				t.Errorf("a template field is missing:\n%s", m.Text)
			}
		})
	}
}

func TestRenderEscapesHTML(t *testing.T) {
	m, err := Render(KindNotice, "a@example.com", Data{Subject: "s", Body: "<script>x</script> & co"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.HTML, "<script>") || !strings.Contains(m.HTML, "&lt;script&gt;") {
		t.Fatalf("HTML part not escaped:\n%s", m.HTML)
	}
	if !strings.Contains(m.Text, "<script>x</script> & co") {
		t.Fatalf("text part escaped:\n%s", m.Text)
	}
}

func TestRenderRefusesInjection(t *testing.T) {
	for _, to := range []string{"a@example.com\r\nBcc: b@example.com", "not an address"} {
		if _, err := Render(KindSignIn, to, Data{Token: "x"}); err == nil {
			t.Errorf("Render to %q: no error", to)
		}
	}
	if _, err := Render(KindNotice, "a@example.com", Data{Subject: "hi\nBcc: x@y", Body: "b"}); !errors.Is(err, ErrHeaderInjection) {
		t.Errorf("notice subject with a newline: %v, want ErrHeaderInjection", err)
	}
}
