package lexicon

import (
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
