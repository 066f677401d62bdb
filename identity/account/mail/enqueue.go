package mail

import (
	"fmt"
	"time"

	"github.com/hearth-pds/hearth/store"
)

// Enqueue puts m in the outbox inside the caller's transaction, so that a
// token and the mail carrying it are written together or not at all. It
// never sends: after the transaction commits, call Sender.Wake (or
// register it with tx.OnCommit). did is the account the mail concerns,
// "" for none; deleting the account drops its queued mail.
//
// A message that could not be sent as written (a line break in a header,
// a recipient that is not one address) is refused here, where the caller
// can still answer the request, rather than dropped later by the sender.
func Enqueue(tx *store.Tx, did string, m Message, kind string, now time.Time) error {
	if err := m.check(); err != nil {
		return fmt.Errorf("mail: enqueue %s: %w", kind, err)
	}
	err := tx.EnqueueMail(&store.Mail{
		DID:     did,
		To:      m.To,
		Subject: m.Subject,
		Text:    m.Text,
		HTML:    m.HTML,
		Kind:    kind,
		Created: now,
		NextTry: now,
	})
	if err != nil {
		return fmt.Errorf("mail: enqueue %s: %w", kind, err)
	}
	return nil
}
