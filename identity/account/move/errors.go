package move

import (
	"context"
	"errors"
	"fmt"

	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/identity/egress"
)

// Sentinel errors of Start and the answers; each Error's text is a
// sentence for the person: what happened, and what to do.
var (
	ErrInput        = errors.New("move: missing or bad input")
	ErrUnknown      = errors.New("move: the old account was not found")
	ErrOldPassword  = errors.New("move: the old host refused the password")
	ErrCode         = errors.New("move: the code was refused")
	ErrOldHost      = errors.New("move: the old host failed")
	ErrAlreadyHere  = errors.New("move: the account is already here")
	ErrNotWaiting   = errors.New("move: the move is not waiting for that")
	ErrNoMove       = errors.New("move: no such move")
	ErrNotSupported = errors.New("move: not supported")
)

// Error is a refusal with a sentence to show.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Kind }

func fail(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// say is the sentence the page shows when step failed with err.
func say(step Step, err error) string {
	var me *Error
	var re *remoteError
	switch {
	case errors.As(err, &me):
		return me.Msg
	case errors.As(err, &re):
		msg := re.Message
		if msg == "" {
			msg = re.Name
		}
		return fmt.Sprintf("Your old host refused a step (%s): %s. Try again; if it keeps refusing, ask its admin.", step, msg)
	case errors.Is(err, egress.ErrFetchFailed), errors.Is(err, context.DeadlineExceeded):
		return "Your old host did not answer in time: try again in a minute."
	case errors.Is(err, egress.ErrTooLarge):
		return "Your old host sent more than Hearth accepts in one piece: ask its admin, or this server's."
	}
	var ae *account.Error
	if errors.As(err, &ae) {
		return ae.Msg + "."
	}
	return "Something went wrong on this server: try again, and if it keeps failing, look at Hearth's log."
}
