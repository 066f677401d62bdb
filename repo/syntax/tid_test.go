package syntax

import (
	"sort"
	"sync"
	"testing"
	"time"
)

func TestTIDEncoding(t *testing.T) {
	cases := []struct {
		tid     TID
		micros  int64
		clockID uint
	}{
		{"2222222222222", 0, 0},
		{"222222222222c", 0, 8},
		{"22222222222zz", 0, 1023},
		{"2222222222322", 1, 0},
		{"bzzzzzzzzzzzz", maxTIDMicros, 1023},
		{"3jzfcijpj2z2a", 1688137381887007, 6},
	}
	for _, c := range cases {
		if _, err := ParseTID(string(c.tid)); err != nil {
			t.Fatalf("ParseTID(%q): %v", c.tid, err)
		}
		if got := c.tid.Time().UnixMicro(); got != c.micros || c.tid.ClockID() != c.clockID {
			t.Errorf("%s: Time=%d ClockID=%d, want %d %d", c.tid, got, c.tid.ClockID(), c.micros, c.clockID)
		}
		if got := NewTID(time.UnixMicro(c.micros), c.clockID); got != c.tid {
			t.Errorf("NewTID(%d, %d) = %s, want %s", c.micros, c.clockID, got, c.tid)
		}
	}
	now := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	tid := NewTID(now, 42)
	if !tid.Time().Equal(now.Truncate(time.Microsecond)) || tid.ClockID() != 42 {
		t.Errorf("round trip: %v %d", tid.Time(), tid.ClockID())
	}
	if got := NewTID(now, 1024+5).ClockID(); got != 5 {
		t.Errorf("clock id not masked to 10 bits: %d", got)
	}
	// Out-of-range times clamp rather than wrap, so order is kept.
	if got := NewTID(time.Unix(-1, 0), 0); got != "2222222222222" {
		t.Errorf("NewTID(before 1970) = %s", got)
	}
	if got := NewTID(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), 0); got != "bzzzzzzzzzz22" {
		t.Errorf("NewTID(year 3000) = %s", got)
	}
}

// TestTIDOrder checks that string order is time order.
func TestTIDOrder(t *testing.T) {
	base := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	var tids []TID
	for i := range 200 {
		tids = append(tids, NewTID(base.Add(time.Duration(i*i*i)*time.Millisecond), uint(i%7)))
	}
	if !sort.SliceIsSorted(tids, func(i, j int) bool { return tids[i] < tids[j] }) {
		t.Error("TIDs of increasing times do not sort as strings")
	}
}

// fakeClock is a settable time source.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = t
}

func TestTIDClockBackwards(t *testing.T) {
	fc := &fakeClock{now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := NewTIDClockAt(3, fc.Now)
	a := c.Next()
	if !a.Time().Equal(fc.Now()) || a.ClockID() != 3 {
		t.Fatalf("first TID %s: %v %d", a, a.Time(), a.ClockID())
	}
	b := c.Next() // same microsecond
	fc.Set(fc.Now().Add(-time.Hour))
	d := c.Next() // the clock stepped back
	if !(a < b && b < d) {
		t.Fatalf("not increasing: %s %s %s", a, b, d)
	}
	if d.Time().Sub(a.Time()) != 2*time.Microsecond {
		t.Errorf("stepped-back clock should advance one microsecond at a time, got %v", d.Time().Sub(a.Time()))
	}
	fc.Set(fc.Now().Add(2 * time.Hour))
	if e := c.Next(); !e.Time().Equal(fc.Now()) {
		t.Errorf("clock did not catch up with the wall clock: %v", e.Time())
	}
}

func TestTIDClockNextAfter(t *testing.T) {
	fc := &fakeClock{now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := NewTIDClockAt(9, fc.Now)
	first := c.Next()

	future := NewTID(fc.Now().Add(24*time.Hour), 1023)
	n := c.NextAfter(future)
	if n <= future || n <= first {
		t.Fatalf("NextAfter(%s) = %s", future, n)
	}
	if m := c.Next(); m <= n {
		t.Fatalf("Next after NextAfter went back: %s <= %s", m, n)
	}
	past := NewTID(fc.Now().Add(-24*time.Hour), 0)
	if p := c.NextAfter(past); p <= n {
		t.Fatalf("NextAfter(past) = %s, not after %s", p, n)
	}
	for _, bad := range []TID{"", "not-a-tid", "zzzzzzzzzzzzz"} {
		before := c.Next()
		if got := c.NextAfter(bad); got <= before {
			t.Errorf("NextAfter(%q) = %s, not after %s", bad, got, before)
		}
	}
	// At the end of the TID range the clock saturates instead of wrapping.
	last := TID("bzzzzzzzzzzzz")
	if got := c.NextAfter(last); got.Time().UnixMicro() != maxTIDMicros {
		t.Errorf("NextAfter(max) = %s", got)
	}
}

func TestTIDClockZeroValue(t *testing.T) {
	var c TIDClock
	a, b := c.Next(), c.Next()
	if a >= b || a.ClockID() != 0 {
		t.Fatalf("zero clock: %s %s", a, b)
	}
	if d := time.Since(a.Time()); d < 0 || d > time.Minute {
		t.Errorf("zero clock does not read time.Now: %v", a.Time())
	}
}

func TestTIDClockConcurrent(t *testing.T) {
	// A frozen clock forces every TID through the last+1 path, where races
	// would show as duplicates.
	frozen := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewTIDClockAt(1, func() time.Time { return frozen })
	const workers, each = 8, 500
	results := make([][]TID, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				results[w] = append(results[w], c.Next())
			}
		}()
	}
	wg.Wait()
	seen := make(map[TID]bool, workers*each)
	for w, r := range results {
		for i, x := range r {
			if _, err := ParseTID(string(x)); err != nil {
				t.Fatal(err)
			}
			if i > 0 && x <= r[i-1] {
				t.Fatalf("worker %d: %s after %s", w, x, r[i-1])
			}
			if seen[x] {
				t.Fatalf("duplicate %s", x)
			}
			seen[x] = true
		}
	}
	if last := c.Next(); last.Time().Sub(frozen) != workers*each*time.Microsecond {
		t.Errorf("expected exactly one microsecond per TID, got %v", last.Time().Sub(frozen))
	}
}
