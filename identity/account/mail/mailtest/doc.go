// Package mailtest is a small, real SMTP receiver on 127.0.0.1 for tests:
// it speaks enough of RFC 5321 (EHLO, STARTTLS, AUTH PLAIN, MAIL, RCPT,
// DATA, RSET, NOOP, QUIT) for net/smtp and for the sender of package mail,
// over plain TCP, STARTTLS or implicit TLS, and keeps what it receives in
// memory.
//
// Tests read the mails with Messages or Wait; a test that starts an
// end-to-end run can also serve Handler, so that a script in another
// language polls GET /messages. FailNext makes the next DATA commands fail
// with a 451, to exercise retries. SelfSigned makes the throwaway
// certificate that STARTTLS and smtps need, and the pool that trusts it.
//
// It is for tests only: it listens on loopback, trusts every sender, and
// never relays.
package mailtest
