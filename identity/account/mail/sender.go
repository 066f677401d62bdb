package mail

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"sync"
	"time"

	"github.com/hearth-pds/hearth/store"
)

// Config says where and as whom to send. The zero value is "no mail".
type Config struct {
	// URL is smtp://user:pass@host:587 (STARTTLS when the server offers
	// it, and required before credentials go to a host that is not
	// loopback) or smtps://user:pass@host:465 (TLS from the start). ""
	// turns mail off.
	URL string
	// From is the sender, "noreply@example.com" or
	// "Hearth <noreply@example.com>"; its domain also names Message-IDs.
	From string
	// TLS, when set, is cloned for STARTTLS and smtps; tests pass RootCAs.
	// ServerName defaults to the URL's host.
	TLS *tls.Config
	// Dial, when set, opens the TCP connection: main hands in the one
	// guarded dialer of the appliance. nil uses a plain net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Retry policy: the wait doubles from retryBase up to retryCap, and a mail
// that failed maxAttempts times (about 7 hours in all) is dropped.
const (
	retryBase   = 30 * time.Second
	retryCap    = time.Hour
	maxAttempts = 12
	// exchangeTimeout bounds one whole SMTP conversation, so that a server
	// that stops answering cannot hold the sender.
	exchangeTimeout = 30 * time.Second
	// idlePoll is the longest the sender sleeps, so that a mail queued by
	// a caller that forgot Wake still leaves within a minute.
	idlePoll = time.Minute
)

const metaLastError = "mail.last-error"

// Status is what the status page shows about mail.
type Status struct {
	Configured bool
	Queued     int // mails in the outbox, read from the store
	LastSent   time.Time
	// LastErr is the last failure and LastErrAt its time; it is still
	// current when LastErrAt is after LastSent.
	LastErr   string
	LastErrAt time.Time
}

// Sender delivers the outbox, one mail at a time, from one goroutine (Run).
// Delivery is at least once: a mail whose DATA was accepted but whose
// deletion did not land (a crash in between) is sent again.
type Sender struct {
	// Now is the clock for scheduling and Date headers; tests replace it
	// before Run. The deadline of an SMTP exchange is always real time.
	Now func() time.Time

	db      *store.DB
	log     *slog.Logger
	ep      Endpoint
	from    *mail.Address
	tls     *tls.Config
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	timeout time.Duration
	wake    chan struct{}

	mu       sync.Mutex
	lastSent time.Time
	lastErr  lastError
	// pause holds every delivery until then after a failure: the next
	// mail would most likely meet the same broken server.
	pause time.Time
}

// lastError is kept in the meta bucket under metaLastError (JSON).
type lastError struct {
	Err string    `json:"err"`
	At  time.Time `json:"at"`
}

// NewSender checks cfg and returns a sender for db. With an empty URL it
// returns an unconfigured sender whose Run returns at once.
func NewSender(db *store.DB, cfg Config, log *slog.Logger) (*Sender, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Sender{Now: time.Now, db: db, log: log, dial: cfg.Dial, timeout: exchangeTimeout,
		wake: make(chan struct{}, 1)}
	if cfg.URL == "" {
		return s, nil
	}
	ep, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.From == "" {
		return nil, errors.New("mail: a From address is needed to send mail")
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("%w: From %q: %v", ErrBadAddress, cfg.From, err)
	}
	s.ep, s.from = ep, from
	if cfg.TLS != nil {
		s.tls = cfg.TLS.Clone()
	} else {
		s.tls = &tls.Config{}
	}
	if s.tls.ServerName == "" {
		s.tls.ServerName = ep.Host
	}
	if s.dial == nil {
		s.dial = (&net.Dialer{}).DialContext
	}
	err = db.View(func(tx *store.Tx) error {
		if raw := tx.Meta(metaLastError); raw != nil {
			return json.Unmarshal(raw, &s.lastErr)
		}
		return nil
	})
	if err != nil {
		// A damaged status line is not worth refusing to start over.
		log.Warn("mail: unreadable last error", "err", err)
	}
	return s, nil
}

// Configured reports whether mail can be sent at all. Callers check it
// before Enqueue: without a server, nothing should be queued.
func (s *Sender) Configured() bool { return s.from != nil }

// Endpoint returns the server mail goes to (print it with String, which
// hides the password).
func (s *Sender) Endpoint() Endpoint { return s.ep }

// Wake asks Run to look at the outbox now. It never blocks; call it after
// a transaction that enqueued.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default: // a wake is already pending; one pass sees every mail
	}
}

// Status reports the outbox length and the last delivery and failure.
func (s *Sender) Status() Status {
	st := Status{Configured: s.Configured()}
	s.db.View(func(tx *store.Tx) error { st.Queued = tx.OutboxLen(); return nil })
	s.mu.Lock()
	defer s.mu.Unlock()
	st.LastSent, st.LastErr, st.LastErrAt = s.lastSent, s.lastErr.Err, s.lastErr.At
	return st
}

// Run delivers due mail until ctx ends, waking on Wake and at least every
// minute. Run it in one goroutine; it returns at once when unconfigured.
func (s *Sender) Run(ctx context.Context) {
	if !s.Configured() {
		return
	}
	s.log.Info("mail: sender started", "server", s.ep.String())
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-timer.C:
		}
		wait := min(s.pass(ctx), idlePoll)
		timer.Reset(max(wait, 0))
	}
}

// pass sends every due mail, unless a failure paused delivery, and
// returns how long until the next mail is due.
func (s *Sender) pass(ctx context.Context) time.Duration {
	now := s.Now()
	s.mu.Lock()
	pause := s.pause
	s.mu.Unlock()
	if now.Before(pause) {
		return pause.Sub(now)
	}
	var due []*store.Mail
	next := now.Add(idlePoll)
	err := s.db.View(func(tx *store.Tx) error {
		return tx.Outbox(func(m *store.Mail) error {
			if m.NextTry.After(now) {
				next = minTime(next, m.NextTry)
			} else {
				due = append(due, m)
			}
			return nil
		})
	})
	if err != nil {
		s.log.Error("mail: read outbox", "err", err)
		return idlePoll
	}
	for _, m := range due {
		if ctx.Err() != nil {
			return 0
		}
		err := s.deliver(ctx, m)
		if ctx.Err() != nil && err != nil {
			return 0 // shutting down: the mail stays as it was, for the next start
		}
		if retryAt, retry := s.settle(ctx, m, err); retry {
			// Hold the rest of this pass too; they are still due after.
			s.mu.Lock()
			s.pause = retryAt
			s.mu.Unlock()
			return retryAt.Sub(s.Now())
		}
	}
	return next.Sub(s.Now())
}

// settle records the outcome of one attempt: a sent or hopeless mail
// leaves the outbox, a failed one gets its next try. It reports whether
// the mail is to be retried, and when.
func (s *Sender) settle(ctx context.Context, m *store.Mail, sendErr error) (time.Time, bool) {
	now := s.Now()
	log := s.log.With("id", m.ID, "kind", m.Kind, "did", m.DID)
	var permanent *permanentError
	var retryAt time.Time
	retry := false
	switch {
	case sendErr == nil:
		log.Info("mail: sent", "attempts", m.Attempts+1)
	case errors.As(sendErr, &permanent):
		log.Error("mail: dropped, the server refused it for good", "err", sendErr)
	case m.Attempts+1 >= maxAttempts:
		log.Error("mail: dropped after too many attempts", "attempts", m.Attempts+1, "err", sendErr)
	default:
		m.Attempts++
		m.LastErr = sendErr.Error()
		m.NextTry = now.Add(backoff(m.Attempts))
		retryAt, retry = m.NextTry, true
		log.Warn("mail: will retry", "attempts", m.Attempts, "next", m.NextTry, "err", sendErr)
	}
	var rec []byte
	if sendErr != nil {
		rec, _ = json.Marshal(lastError{Err: sendErr.Error(), At: now})
	}
	// The outcome is written even if ctx ends now: a mail that was sent
	// must leave the outbox.
	err := s.db.Update(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		if rec != nil {
			if err := tx.SetMeta(metaLastError, rec); err != nil {
				return err
			}
		}
		if retry {
			err := tx.PutMail(m)
			if errors.Is(err, store.ErrNotFound) {
				return nil // deleted meanwhile, with its account
			}
			return err
		}
		return tx.DeleteMail(m.ID)
	})
	if err != nil {
		log.Error("mail: record outcome", "err", err)
	}
	s.mu.Lock()
	if sendErr == nil {
		s.lastSent = now
	} else {
		s.lastErr = lastError{Err: sendErr.Error(), At: now}
	}
	s.mu.Unlock()
	return retryAt, retry
}

// backoff is the wait after the n-th failed attempt (n ≥ 1).
func backoff(n int) time.Duration {
	d := retryBase
	for i := 1; i < n && d < retryCap; i++ {
		d *= 2
	}
	return min(d, retryCap)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
