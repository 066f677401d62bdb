package syntax

import "testing"

func BenchmarkParseATURI(b *testing.B) {
	for b.Loop() {
		if _, err := ParseATURI("at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3jzfcijpj2z2a"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkATURIString(b *testing.B) {
	u := ATURI{Authority: "did:plc:ewvi7nxzyoun6zhxrhs64oiz", Collection: "app.bsky.feed.post", RecordKey: "3jzfcijpj2z2a"}
	for b.Loop() {
		_ = u.String()
	}
}

func BenchmarkParseNSID(b *testing.B) {
	for b.Loop() {
		if _, err := ParseNSID("app.bsky.feed.post"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseTID(b *testing.B) {
	for b.Loop() {
		if _, err := ParseTID("3jzfcijpj2z2a"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseDatetime(b *testing.B) {
	for b.Loop() {
		if _, err := ParseDatetime("2024-05-06T07:08:09.123Z"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateLanguage(b *testing.B) {
	for b.Loop() {
		if err := ValidateLanguage("en-US"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTIDClockNext(b *testing.B) {
	c := NewTIDClock(1)
	for b.Loop() {
		c.Next()
	}
}

func BenchmarkTIDClockNextParallel(b *testing.B) {
	c := NewTIDClock(1)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Next()
		}
	})
}
