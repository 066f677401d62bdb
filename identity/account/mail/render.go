package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"text/template"
	"time"
)

// The kinds of mail Render knows. The account operations store the kind
// with the queued mail, so the names are part of the file format.
const (
	KindConfirmEmail  = "confirm_email"  // confirm the address given at sign-up
	KindUpdateEmail   = "update_email"   // approve changing the address
	KindResetPassword = "reset_password" // a code to set a new password
	KindDeleteAccount = "delete_account" // approve deleting the account
	KindPLCOperation  = "plc_operation"  // approve signing a change to the DID
	KindSignIn        = "sign_in"        // the second factor of a sign-in
	KindNotice        = "notice"         // a free-form message from the admin
)

// DefaultExpiry is what a mail says when Data.Expires is zero; it is how
// long the account operations keep their codes.
const DefaultExpiry = 15 * time.Minute

// Data fills a template. Token kinds need Token; KindNotice needs Subject
// and Body, and uses nothing else but the Hostname.
type Data struct {
	Handle    string // the account's handle, without "@"
	Token     string // the code the person types in
	Hostname  string // the PDS's host name, to say who writes
	PublicURL string // the PDS's address, shown as a link
	Subject   string // KindNotice only
	Body      string // KindNotice only: plain text, paragraphs split by blank lines
	Expires   time.Duration
}

//go:embed templates/*.txt templates/*.html
var templateFS embed.FS

// kind is the parsed pair of templates for one kind of mail. The text
// template also defines "subject".
type kind struct {
	text *template.Template
	html *htmltemplate.Template
}

// kinds is parsed once at start-up and only read afterwards.
var kinds = parseKinds(KindConfirmEmail, KindUpdateEmail, KindResetPassword,
	KindDeleteAccount, KindPLCOperation, KindSignIn, KindNotice)

var funcs = map[string]any{"lasts": lasts, "paragraphs": paragraphs}

func parseKinds(names ...string) map[string]kind {
	m := make(map[string]kind, len(names))
	for _, name := range names {
		m[name] = kind{
			text: template.Must(template.New(name+".txt").Funcs(funcs).
				ParseFS(templateFS, "templates/"+name+".txt", "templates/footer.txt")),
			html: htmltemplate.Must(htmltemplate.New("layout.html").Funcs(funcs).
				ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")),
		}
	}
	return m
}

// Render makes the mail of kind for to from d. An unknown kind is an error
// wrapping ErrUnknownKind, a missing token or subject one wrapping
// ErrIncomplete.
func Render(kind string, to string, d Data) (Message, error) {
	k, ok := kinds[kind]
	if !ok {
		return Message{}, fmt.Errorf("%w: %q", ErrUnknownKind, kind)
	}
	if kind == KindNotice && (strings.TrimSpace(d.Subject) == "" || strings.TrimSpace(d.Body) == "") {
		return Message{}, fmt.Errorf("%w: a notice needs a subject and a body", ErrIncomplete)
	}
	if strings.ContainsAny(d.Subject, "\r\n") {
		// The templates' own subjects are joined onto one line below; an
		// admin's is refused, not rewritten.
		return Message{}, fmt.Errorf("%w: Subject", ErrHeaderInjection)
	}
	if kind != KindNotice && d.Token == "" {
		return Message{}, fmt.Errorf("%w: %s needs a token", ErrIncomplete, kind)
	}
	if d.Expires <= 0 {
		d.Expires = DefaultExpiry
	}
	if d.Hostname == "" {
		d.Hostname = "your PDS"
	}
	var subject, text, html bytes.Buffer
	if err := k.text.ExecuteTemplate(&subject, "subject", d); err != nil {
		return Message{}, fmt.Errorf("mail: render %s subject: %w", kind, err)
	}
	if err := k.text.Execute(&text, d); err != nil {
		return Message{}, fmt.Errorf("mail: render %s text: %w", kind, err)
	}
	if err := k.html.Execute(&html, d); err != nil {
		return Message{}, fmt.Errorf("mail: render %s html: %w", kind, err)
	}
	m := Message{
		To:      to,
		Subject: strings.Join(strings.Fields(subject.String()), " "),
		Text:    strings.TrimSpace(text.String()) + "\n",
		HTML:    html.String(),
	}
	if err := m.check(); err != nil {
		return Message{}, err
	}
	return m, nil
}

// lasts spells a validity period the way a person would say it.
func lasts(d time.Duration) string {
	unit := func(n int, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %ss", n, one)
	}
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return unit(int(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return unit(int(d/time.Hour), "hour")
	case d >= time.Minute:
		return unit(int(d.Round(time.Minute)/time.Minute), "minute")
	default:
		return unit(int(d.Round(time.Second)/time.Second), "second")
	}
}

// paragraphs splits a notice's body on blank lines, for the HTML part.
func paragraphs(s string) []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
