package syntax

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrInvalid is wrapped by every syntax error of this package.
var ErrInvalid = errors.New("syntax: invalid")

const tidAlphabet = "234567abcdefghijklmnopqrstuvwxyz"

// TID is a timestamp identifier: 13 base32-sortable characters holding 53
// bits of microseconds since the epoch and 10 bits of clock id.
type TID string

// ParseTID checks s is a TID.
func ParseTID(s string) (TID, error) {
	if len(s) != 13 {
		return "", fmt.Errorf("%w: tid %q: length %d", ErrInvalid, s, len(s))
	}
	for i := 0; i < 13; i++ {
		if tidIndex(s[i]) < 0 {
			return "", fmt.Errorf("%w: tid %q: character %q", ErrInvalid, s, s[i])
		}
	}
	// The top bit must be zero: the first character is one of 2-7, a-j.
	if tidIndex(s[0]) >= 16 {
		return "", fmt.Errorf("%w: tid %q: high bit set", ErrInvalid, s)
	}
	return TID(s), nil
}

func tidIndex(c byte) int {
	switch {
	case c >= '2' && c <= '7':
		return int(c - '2')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 6
	}
	return -1
}

func (t TID) integer() uint64 {
	var v uint64
	for i := 0; i < len(t); i++ {
		v = v<<5 | uint64(tidIndex(t[i]))
	}
	return v
}

// Time returns the TID's timestamp.
func (t TID) Time() time.Time { return time.UnixMicro(int64(t.integer() >> 10)) }

// ClockID returns the TID's clock id.
func (t TID) ClockID() uint { return uint(t.integer() & 1023) }

// NewTID builds a TID from a time and a clock id (0–1023).
func NewTID(t time.Time, clockID uint) TID { return tidFromMicros(uint64(t.UnixMicro()), clockID) }

func tidFromMicros(us uint64, clockID uint) TID {
	v := (us&(1<<54-1))<<10 | uint64(clockID&1023)
	var b [13]byte
	for i := 12; i >= 0; i-- {
		b[i] = tidAlphabet[v&31]
		v >>= 5
	}
	return TID(b[:])
}

// TIDClock issues TIDs that strictly increase within the process, even when
// the wall clock steps back.
type TIDClock struct {
	mu      sync.Mutex
	last    uint64
	clockID uint
	now     func() time.Time
}

// NewTIDClock returns a clock with the given id (0–1023).
func NewTIDClock(clockID uint) *TIDClock {
	return &TIDClock{clockID: clockID & 1023, now: time.Now}
}

// NewTIDClockAt is NewTIDClock with an injected time source, for tests.
func NewTIDClockAt(clockID uint, now func() time.Time) *TIDClock {
	return &TIDClock{clockID: clockID & 1023, now: now}
}

// Next returns a new TID greater than every one issued before.
func (c *TIDClock) Next() TID { return c.NextAfter("") }

// NextAfter returns a new TID greater than prev and than every one issued
// before, so that a repo's rev keeps increasing across restarts even if the
// clock is behind the stored rev.
func (c *TIDClock) NextAfter(prev TID) TID {
	c.mu.Lock()
	defer c.mu.Unlock()
	us := uint64(c.now().UnixMicro())
	if us <= c.last {
		us = c.last + 1
	}
	if prev != "" {
		if p := prev.integer() >> 10; us <= p {
			us = p + 1
		}
	}
	c.last = us
	return tidFromMicros(us, c.clockID)
}
