package lexicon

import (
	"strings"
	"testing"
)

func TestGraphemes(t *testing.T) {
	cases := []struct {
		name, s string
		want    int
	}{
		{"empty", "", 0},
		{"ascii", "abc", 3},
		{"crlf", "a\r\nb", 3},
		{"lfcr", "\n\r", 2},
		{"controls", "\x00\x01", 2},
		{"precomposed", "é", 1},
		{"combining acute", "e\u0301", 1},
		{"stacked marks", "a\u0301\u0323\u0308", 1},
		{"mark after control", "\x01\u0301", 2},
		{"mark at start", "\u0301a", 2},
		{"cjk", "日本語", 3},
		{"hangul syllables", "한국어", 3},
		{"hangul L V T", "\u1100\u1161\u11A8", 1},
		{"hangul L L V", "\u1100\u1100\u1161", 1},
		{"hangul LV T", "\uAC00\u11A8", 1},
		{"hangul LVT V", "\uAC01\u1161", 2},
		{"flag", "🇩🇪", 1},
		{"two flags", "🇩🇪🇫🇷", 2},
		{"three indicators", "🇦🇧🇨", 2},
		{"flag after letter", "a🇩🇪", 2},
		{"skin tone", "👍🏽", 1},
		{"zwj family", "👩‍👩‍👦‍👦", 1},
		{"zwj with modifier", "👨🏽‍💻", 1},
		{"rainbow flag", "🏳️‍🌈", 1},
		{"heart on fire", "❤️‍🔥", 1},
		{"zwj after letter", "a\u200db", 2},
		{"dangling zwj", "😀\u200d", 1},
		{"keycap", "1️⃣", 1},
		{"tag sequence", "🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F", 1},
		{"variation selector", "\u2764\uFE0F", 1},
		{"thai sara am", "\u0E01\u0E33", 1},
		{"devanagari spacing mark", "\u0915\u093F", 1},
		{"devanagari conjunct", "\u0915\u094D\u0937\u093F", 1},
		{"namaste", "नमस्ते", 3},
		{"conjunct with nukta", "\u0915\u093C\u094D\u0937", 1},
		{"conjunct broken by zwnj", "\u0915\u094D\u200C\u0937", 2},
		{"prepend", "\u0600\u0661", 1},
		{"soft hyphen", "a\u00ADb", 3},
		{"invalid utf-8", "a\xff\xfeb", 4},
		{"mixed", "hi 👋🏻 there", 10},
		{"fixture long", "🇩🇪🏳️‍🌈🇩🇪🏳️‍🌈🇩🇪🏳️‍🌈🇩🇪🏳️‍🌈🇩🇪🏳️‍🌈🇩🇪🏳️‍🌈", 12},
		{"fixture short", "👩‍👩‍👦‍👦👩‍👩‍👦‍👦", 2},
	}
	for _, c := range cases {
		if got := Graphemes(c.s); got != c.want {
			t.Errorf("%s: Graphemes(%+q) = %d, want %d", c.name, c.s, got, c.want)
		}
	}
}

func BenchmarkGraphemes(b *testing.B) {
	for _, c := range []struct{ name, s string }{
		{"ascii", strings.Repeat("hello world ", 25)},
		{"mixed", strings.Repeat("héllo 👋🏻 wörld 👩‍👩‍👦‍👦 ", 10)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.s)))
			for b.Loop() {
				Graphemes(c.s)
			}
		})
	}
}
