package lexicon

import "unicode"

// Graphemes counts extended grapheme clusters closely enough for length
// limits: combining marks, variation selectors, emoji modifiers, tags and
// ZWJ sequences join the preceding character; regional indicators pair
// into flags; Hangul jamo sequences join; CR LF is one.
func Graphemes(s string) int {
	n := 0
	var prev rune = -1
	riRun := 0
	for _, r := range s {
		join := false
		switch {
		case prev < 0:
		case prev == '\r' && r == '\n':
			join = true
		case prev == 0x200D: // ZWJ glues the next character on
			join = true
		case extend(r):
			join = true
		case isRI(r) && isRI(prev) && riRun%2 == 1:
			join = true
		case hangulJoins(prev, r):
			join = true
		}
		if isRI(r) {
			if join {
				riRun++
			} else {
				riRun = 1
			}
		} else if !extend(r) {
			riRun = 0
		}
		if !join {
			n++
		}
		prev = r
	}
	return n
}

func extend(r rune) bool {
	switch {
	case r == 0x200D, r == 0x200C:
		return true
	case r >= 0xFE00 && r <= 0xFE0F, r >= 0xE0100 && r <= 0xE01EF: // variation selectors
		return true
	case r >= 0x1F3FB && r <= 0x1F3FF: // emoji skin-tone modifiers
		return true
	case r >= 0xE0020 && r <= 0xE007F: // tags (subdivision flags)
		return true
	case r == 0x20E3: // combining enclosing keycap
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc)
}

func isRI(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }

func hangulJoins(prev, r rune) bool {
	isL := func(c rune) bool { return c >= 0x1100 && c <= 0x115F || c >= 0xA960 && c <= 0xA97C }
	isV := func(c rune) bool { return c >= 0x1160 && c <= 0x11A7 || c >= 0xD7B0 && c <= 0xD7C6 }
	isT := func(c rune) bool { return c >= 0x11A8 && c <= 0x11FF || c >= 0xD7CB && c <= 0xD7FB }
	isLV := func(c rune) bool { return c >= 0xAC00 && c <= 0xD7A3 && (c-0xAC00)%28 == 0 }
	isLVT := func(c rune) bool { return c >= 0xAC00 && c <= 0xD7A3 && (c-0xAC00)%28 != 0 }
	switch {
	case isL(prev):
		return isL(r) || isV(r) || isLV(r) || isLVT(r)
	case isLV(prev) || isV(prev):
		return isV(r) || isT(r)
	case isLVT(prev) || isT(prev):
		return isT(r)
	}
	return false
}
