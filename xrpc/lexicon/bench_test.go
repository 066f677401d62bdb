package lexicon

import (
	"errors"
	"testing"

	"github.com/hearth-pds/hearth/repo/dagcbor"
)

func BenchmarkValidatePost(b *testing.B) {
	cat := official(b)
	v, err := dagcbor.FromJSON([]byte(typicalPost))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := cat.ValidateRecord("app.bsky.feed.post", v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidatePostText(b *testing.B) {
	cat := official(b)
	v, err := dagcbor.FromJSON([]byte(post(`"text":"a plain post of some ordinary length, as most of them are, with one emoji 🎉","createdAt":"2024-05-01T12:00:00.000Z","langs":["en"]`)))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := cat.ValidateRecord("app.bsky.feed.post", v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDefault(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Default(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFirstPost is a daemon's start and its first write: a fresh
// catalog parses the post's schema and those it reaches.
func BenchmarkFirstPost(b *testing.B) {
	v, err := dagcbor.FromJSON([]byte(typicalPost))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		c, err := Default()
		if err != nil {
			b.Fatal(err)
		}
		if err := c.ValidateRecord("app.bsky.feed.post", v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnknownCollection is the cost of a name a client chose and the
// catalog does not hold, which is looked for again each time.
func BenchmarkUnknownCollection(b *testing.B) {
	c, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	v := map[string]any{"$type": "com.example.unknown.thing"}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.ValidateRecord("com.example.unknown.thing", v); !errors.Is(err, ErrUnknownCollection) {
			b.Fatal(err)
		}
	}
}
