package mail

import (
	"fmt"
	"time"

	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/store"
)

// Outbox is the account operations' Mailer: it renders a code's mail and
// queues it in the caller's transaction, and wakes the Sender once that
// transaction has landed. Token purposes and mail kinds share their names.
type Outbox struct {
	Sender    *Sender
	Hostname  string
	PublicURL string
}

var _ account.Mailer = (*Outbox)(nil)

// Configured reports whether a mail server is set.
func (o *Outbox) Configured() bool { return o != nil && o.Sender != nil && o.Sender.Configured() }

// Queue renders l and puts it in the outbox within tx.
func (o *Outbox) Queue(tx *store.Tx, l account.Letter) error {
	m, err := Render(l.Purpose, l.To, Data{
		Handle: l.Handle, Token: l.Token, Hostname: o.Hostname, PublicURL: o.PublicURL, Expires: l.Expires,
		Subject: l.Subject, Body: l.Body,
	})
	if err != nil {
		return fmt.Errorf("mail: render %s: %w", l.Purpose, err)
	}
	now := time.Now()
	if o.Sender.Now != nil {
		now = o.Sender.Now()
	}
	if err := Enqueue(tx, l.DID, m, l.Purpose, now); err != nil {
		return err
	}
	tx.OnCommit(o.Sender.Wake)
	return nil
}
