package stream

import "sync"

// ring holds the newest published frames, so that live subscribers are
// served from memory without a read transaction, and every subscriber
// sends the same bytes.
//
// Its invariant: when valid, it holds every event with seq in
// (base, base+n], in order, and nothing else. Publication happens in
// commit order and sequence numbers within a run are consecutive, so a
// frame that does not follow the last one means some event went by
// without being published: the ring starts over from that frame, and a
// subscriber further behind reads the store instead.
type ring struct {
	mu       sync.RWMutex
	valid    bool
	base     int64
	n        int // frames held
	start    int // index in buf of seq base+1
	bytes    int
	buf      [][]byte
	maxBytes int
}

func newRing(frames, bytes int) *ring {
	return &ring{buf: make([][]byte, frames), maxBytes: bytes}
}

// head is the last seq the ring holds, and whether it is valid.
func (r *ring) head() (int64, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.base + int64(r.n), r.valid
}

// add appends the frame of seq. A frame larger than the byte budget is
// not kept: the ring starts over after it.
func (r *ring) add(seq int64, f []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.valid || seq != r.base+int64(r.n)+1 {
		r.reset(seq - 1)
		r.valid = true
	}
	if len(f) > r.maxBytes {
		r.reset(seq)
		return
	}
	for r.n == len(r.buf) || r.bytes+len(f) > r.maxBytes {
		r.bytes -= len(r.buf[r.start])
		r.buf[r.start] = nil // let the frame go
		r.start = (r.start + 1) % len(r.buf)
		r.n--
		r.base++
	}
	r.buf[(r.start+r.n)%len(r.buf)] = f
	r.n++
	r.bytes += len(f)
}

// reset empties the ring, which then holds every event after base.
func (r *ring) reset(base int64) {
	clear(r.buf)
	r.base, r.n, r.start, r.bytes = base, 0, 0, 0
}

// invalidate empties the ring until the next add: events may have been
// appended or deleted behind its back.
func (r *ring) invalidate() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reset(0)
	r.valid = false
}

// since appends to dst up to max events after seq after and returns them
// with the ring's head. ok is false when the ring cannot tell (it is
// invalid, or after is older than what it holds): read the store.
func (r *ring) since(dst []event, after int64, max int) (out []event, head int64, ok bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	head = r.base + int64(r.n)
	if !r.valid || after < r.base || after > head {
		return dst, head, false
	}
	for seq := after + 1; seq <= head && len(dst) < max; seq++ {
		dst = append(dst, event{seq, r.buf[(r.start+int(seq-r.base-1))%len(r.buf)]})
	}
	return dst, head, true
}
