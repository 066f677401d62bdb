package stream

import (
	"bytes"
	"fmt"
	"testing"
)

// held lists the seqs the ring hands out after after, or nil when it
// cannot tell.
func held(r *ring, after int64) []int64 {
	evs, _, ok := r.since(nil, after, 1<<20)
	if !ok {
		return nil
	}
	out := []int64{}
	for _, ev := range evs {
		if want := fmt.Sprint(ev.seq); string(bytes.TrimRight(ev.frame, "-")) != want {
			panic(fmt.Sprintf("seq %d holds frame %q", ev.seq, ev.frame))
		}
		out = append(out, ev.seq)
	}
	return out
}

func TestRing(t *testing.T) {
	frame := func(seq int64, size int) []byte {
		f := []byte(fmt.Sprint(seq))
		return append(f, bytes.Repeat([]byte("-"), max(0, size-len(f)))...)
	}
	type add struct {
		seq  int64
		size int
	}
	for _, tc := range []struct {
		name          string
		frames, bytes int
		adds          []add
		invalidate    bool
		after         int64
		want          []int64 // nil: read the store
	}{
		{"empty ring knows nothing", 4, 100, nil, false, 0, nil},
		{"from the first publication on", 4, 100, []add{{10, 1}, {11, 1}}, false, 9, []int64{10, 11}},
		{"after a seq it holds", 4, 100, []add{{10, 1}, {11, 1}, {12, 1}}, false, 11, []int64{12}},
		{"at the head: nothing yet", 4, 100, []add{{10, 1}}, false, 10, []int64{}},
		{"before the first publication", 4, 100, []add{{10, 1}}, false, 8, nil},
		{"past the head", 4, 100, []add{{10, 1}}, false, 11, nil},
		{"oldest dropped by count", 3, 100, []add{{1, 1}, {2, 1}, {3, 1}, {4, 1}}, false, 0, nil},
		{"kept by count", 3, 100, []add{{1, 1}, {2, 1}, {3, 1}, {4, 1}}, false, 1, []int64{2, 3, 4}},
		{"oldest dropped by bytes", 8, 10, []add{{1, 4}, {2, 4}, {3, 4}}, false, 0, nil},
		{"kept by bytes", 8, 10, []add{{1, 4}, {2, 4}, {3, 4}}, false, 1, []int64{2, 3}},
		{"a frame over the budget is not kept", 8, 10, []add{{1, 4}, {2, 11}}, false, 1, nil},
		{"after a frame over the budget", 8, 10, []add{{1, 4}, {2, 11}, {3, 4}}, false, 2, []int64{3}},
		{"a gap starts over", 8, 100, []add{{1, 1}, {2, 1}, {4, 1}}, false, 2, nil},
		{"after a gap", 8, 100, []add{{1, 1}, {2, 1}, {4, 1}, {5, 1}}, false, 3, []int64{4, 5}},
		{"invalidated", 8, 100, []add{{1, 1}, {2, 1}}, true, 1, nil},
		{"wraps around", 3, 100, []add{{1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}, {6, 1}, {7, 1}}, false, 4, []int64{5, 6, 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRing(tc.frames, tc.bytes)
			for _, a := range tc.adds {
				r.add(a.seq, frame(a.seq, a.size))
			}
			if tc.invalidate {
				r.invalidate()
			}
			got := held(r, tc.after)
			if (got == nil) != (tc.want == nil) || fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("after %d: got %v, want %v (nil: read the store)", tc.after, got, tc.want)
			}
			if r.bytes > tc.bytes || r.n > tc.frames {
				t.Fatalf("holds %d frames, %d bytes: over %d, %d", r.n, r.bytes, tc.frames, tc.bytes)
			}
		})
	}
}

func TestRingSinceStopsAtMax(t *testing.T) {
	r := newRing(8, 100)
	for seq := int64(1); seq <= 5; seq++ {
		r.add(seq, []byte(fmt.Sprint(seq)))
	}
	evs, head, ok := r.since(nil, 0, 2)
	if !ok || head != 5 || len(evs) != 2 || evs[1].seq != 2 {
		t.Fatalf("since(0, 2) = %v, %d, %v", evs, head, ok)
	}
}
