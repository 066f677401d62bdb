// Package mail writes and delivers the mails of account operations:
// confirmation and reset codes, sign-in codes, and the admin's notices.
//
// Nothing here sends mail during a request. An account operation renders a
// Message (Render, from the embedded templates/, one pair of text and HTML
// per kind) and queues it with Enqueue in its own store transaction, so a
// token and the mail that carries it land together or not at all; then it
// calls Sender.Wake. The Sender is one goroutine (Run) that reads the
// outbox bucket (see package store) and delivers each due mail over SMTP:
//
//	connect       smtp://host:587, or smtps://host:465 with TLS from the start
//	EHLO          the From address's domain
//	STARTTLS      whenever offered; without it, credentials go only to loopback
//	AUTH PLAIN    when the URL has a user and password
//	MAIL/RCPT/DATA  one recipient; the whole exchange has a 30 s deadline
//
// A sent mail leaves the outbox. A failure sets the mail's Attempts,
// LastErr and NextTry (30 s, doubling, at most an hour apart) and holds
// the rest of the outbox until then, since the next mail would most likely
// meet the same broken server. After 12 attempts, or at once when the
// server refuses the recipient or the content with a 5xx, the mail is
// dropped and logged. Delivery is at least once: a crash between the
// server's acceptance and the deletion sends the mail again.
//
// Callers must check Sender.Configured before Enqueue: with no SMTP URL
// nothing should be queued, and Run returns at once.
//
// Messages are RFC 5322: From, To, Subject (RFC 2047 Q-encoded when not
// ASCII), Date, Message-ID in the From domain, MIME-Version, and either a
// text/plain body or a multipart/alternative of text and HTML, both
// quoted-printable, with CRLF line ends. A CR or LF in To or Subject is
// refused (ErrHeaderInjection), never cleaned.
//
// Sub-package mailtest is a small real SMTP receiver for tests.
package mail
