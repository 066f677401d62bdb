package syntax

import (
	"fmt"
	"sync"
	"time"
)

// tidAlphabet is base32-sortable: its characters are in ASCII order, so
// TIDs sort as strings in the order of the integers they encode.
const tidAlphabet = "234567abcdefghijklmnopqrstuvwxyz"

const (
	tidLength = 13
	// maxTIDMicros is the largest timestamp a spec-conformant TID holds:
	// 53 bits, the top bit of the 64-bit integer being zero (year 2255).
	maxTIDMicros = 1<<53 - 1
)

// TID is a timestamp identifier: 13 base32-sortable characters encoding a
// 64-bit integer whose top bit is zero, then 53 bits of microseconds since
// the Unix epoch, then a 10-bit clock id. TIDs are record keys and repo
// revisions; comparing them as strings compares them in time.
type TID string

// ParseTID checks TID syntax: 13 characters of 234567a-z, lower case, the
// first one of 234567a-j so that the value fits in 64 bits.
func ParseTID(s string) (TID, error) {
	if len(s) != tidLength {
		return "", invalid("tid", s, fmt.Sprintf("length %d, want 13", len(s)))
	}
	for i := 0; i < tidLength; i++ {
		if tidDigit(s[i]) < 0 {
			return "", invalid("tid", s, fmt.Sprintf("character %q", s[i]))
		}
	}
	if tidDigit(s[0]) >= 16 {
		return "", invalid("tid", s, "first character must be one of 234567abcdefghij")
	}
	return TID(s), nil
}

// tidDigit returns the value of one base32-sortable character, or -1.
func tidDigit(c byte) int {
	switch {
	case c >= '2' && c <= '7':
		return int(c - '2')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 6
	}
	return -1
}

// integer decodes a TID that ParseTID accepted.
func (t TID) integer() uint64 {
	var v uint64
	for i := 0; i < len(t); i++ {
		v = v<<5 | uint64(tidDigit(t[i]))
	}
	return v
}

// String returns the TID as a string.
func (t TID) String() string { return string(t) }

// Time returns the TID's timestamp, with microsecond precision. t must be
// valid. The syntax lets the integer's top bit be set (first character
// c–j); such a TID is read as a time past 2255, which keeps the order of
// times the order of strings.
func (t TID) Time() time.Time { return time.UnixMicro(int64(t.integer() >> 10)) }

// ClockID returns the TID's 10-bit clock id. t must be valid.
func (t TID) ClockID() uint { return uint(t.integer() & 1023) }

// NewTID encodes a time, truncated to the microsecond, and a clock id (its
// low 10 bits). Times before 1970 or after 2255 do not fit; they are
// clamped to the nearest end so that NewTID stays monotonic in t.
func NewTID(t time.Time, clockID uint) TID {
	us := t.UnixMicro()
	switch {
	case us < 0:
		us = 0
	case us > maxTIDMicros:
		us = maxTIDMicros
	}
	return encodeTID(uint64(us), clockID)
}

func encodeTID(us uint64, clockID uint) TID {
	v := us<<10 | uint64(clockID&1023)
	var b [tidLength]byte
	for i := tidLength - 1; i >= 0; i-- {
		b[i] = tidAlphabet[v&31]
		v >>= 5
	}
	return TID(b[:])
}

// TIDClock issues TIDs that strictly increase, even when the wall clock
// steps back: it remembers the last microsecond it used and, if the clock
// says no later, uses the next one. It is safe for concurrent use. The
// zero value is a clock with id 0 reading time.Now.
type TIDClock struct {
	mu      sync.Mutex
	last    uint64 // microseconds of the last TID issued
	clockID uint
	now     func() time.Time
}

// NewTIDClock returns a clock reading time.Now whose TIDs carry clockID
// (its low 10 bits). A random id makes collisions with other writers of
// the same keys unlikely.
func NewTIDClock(clockID uint) *TIDClock { return NewTIDClockAt(clockID, time.Now) }

// NewTIDClockAt is NewTIDClock with the time source injected, for tests.
func NewTIDClockAt(clockID uint, now func() time.Time) *TIDClock {
	return &TIDClock{clockID: clockID & 1023, now: now}
}

// Next returns a TID greater than every TID this clock issued before.
func (c *TIDClock) Next() TID { return c.NextAfter("") }

// NextAfter returns a TID greater than prev and than every TID this clock
// issued before. A repo's revision must keep increasing across restarts,
// when the clock may be behind the revision stored last: pass that
// revision as prev. An empty or invalid prev is ignored. Past the largest
// time a TID holds (year 2255) the clock saturates there.
func (c *TIDClock) NextAfter(prev TID) TID {
	now := c.now
	if now == nil {
		now = time.Now
	}
	us := now().UnixMicro()
	c.mu.Lock()
	defer c.mu.Unlock()
	next := c.last + 1
	if us > 0 && uint64(us) > next {
		next = uint64(us)
	}
	if prev != "" {
		if _, err := ParseTID(string(prev)); err == nil {
			if p := prev.integer() >> 10; p >= next {
				next = p + 1
			}
		}
	}
	if next > maxTIDMicros {
		next = maxTIDMicros
	}
	c.last = next
	return encodeTID(next, c.clockID)
}
