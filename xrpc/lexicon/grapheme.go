package lexicon

import (
	"unicode"
	"unicode/utf8"
)

// Graphemes counts the extended grapheme clusters of s, following the
// rules of Unicode UAX #29: CR LF; controls; Hangul syllable sequences;
// combining marks, variation selectors, emoji modifiers and tags
// (Extend), spacing marks and prepended marks; Indic conjuncts joined by a
// virama (GB9c); emoji ZWJ sequences (GB11); and regional-indicator pairs
// as flags (GB12, GB13). Properties come from the unicode package where it
// has them; the few it lacks (Extended_Pictographic, the Indic conjunct
// classes, Prepend's non-format members) are tabled here. Invalid UTF-8
// counts one cluster per bad byte.
func Graphemes(s string) int {
	// Fast path: in ASCII, only CR LF joins.
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	if i == len(s) {
		n := len(s)
		for j := 1; j < len(s); j++ {
			if s[j] == '\n' && s[j-1] == '\r' {
				n--
			}
		}
		return n
	}

	var (
		n       int
		prev    = gcbNone // class of the previous rune; gcbNone at the start
		ri      int       // regional indicators in a row up to prev
		pict    bool      // prev ends ExtPict Extend*
		pictZWJ bool      // prev is a ZWJ after ExtPict Extend*
		conj    int       // GB9c: 0 none, 1 after a consonant, 2 after consonant + linker
	)
	for _, r := range s {
		c := classOf(r)
		if prev == gcbNone || breaks(prev, c, r, ri, pictZWJ, conj) {
			n++
		}

		if c == gcbRI && prev == gcbRI {
			ri++
		} else if c == gcbRI {
			ri = 1
		} else {
			ri = 0
		}
		pictZWJ = c == gcbZWJ && pict
		switch {
		case c == gcbPict:
			pict = true
		case c != gcbExtend:
			pict = false
		}
		switch {
		case isConsonant(r):
			conj = 1
		case conj > 0 && isLinker(r):
			conj = 2
		case conj > 0 && (c == gcbZWJ || c == gcbExtend && incbExtend(r)):
		default:
			conj = 0
		}
		prev = c
	}
	return n
}

// gcb is a Grapheme_Cluster_Break class, with Extended_Pictographic
// folded in as one more (those code points are all class Other).
type gcb uint8

const (
	gcbNone gcb = iota
	gcbOther
	gcbCR
	gcbLF
	gcbControl
	gcbExtend
	gcbZWJ
	gcbRI
	gcbPrepend
	gcbSpacingMark
	gcbL
	gcbV
	gcbT
	gcbLV
	gcbLVT
	gcbPict
)

// breaks reports whether there is a cluster boundary between a rune of
// class prev and r, of class c.
func breaks(prev, c gcb, r rune, ri int, pictZWJ bool, conj int) bool {
	switch {
	case prev == gcbCR && c == gcbLF: // GB3
		return false
	case prev == gcbCR || prev == gcbLF || prev == gcbControl: // GB4
		return true
	case c == gcbCR || c == gcbLF || c == gcbControl: // GB5
		return true
	case prev == gcbL && (c == gcbL || c == gcbV || c == gcbLV || c == gcbLVT): // GB6
		return false
	case (prev == gcbLV || prev == gcbV) && (c == gcbV || c == gcbT): // GB7
		return false
	case (prev == gcbLVT || prev == gcbT) && c == gcbT: // GB8
		return false
	case c == gcbExtend || c == gcbZWJ: // GB9
		return false
	case c == gcbSpacingMark: // GB9a
		return false
	case prev == gcbPrepend: // GB9b
		return false
	case conj == 2 && isConsonant(r): // GB9c
		return false
	case pictZWJ && c == gcbPict: // GB11
		return false
	case prev == gcbRI && c == gcbRI && ri%2 == 1: // GB12, GB13
		return false
	}
	return true // GB999
}

func classOf(r rune) gcb {
	if r < utf8.RuneSelf {
		switch {
		case r == '\r':
			return gcbCR
		case r == '\n':
			return gcbLF
		case r < 0x20 || r == 0x7f:
			return gcbControl
		}
		return gcbOther
	}
	switch {
	case r == 0x200D:
		return gcbZWJ
	case r >= 0x1F1E6 && r <= 0x1F1FF:
		return gcbRI
	case r >= 0x1100 && r <= 0x115F, r >= 0xA960 && r <= 0xA97C:
		return gcbL
	case r >= 0x1160 && r <= 0x11A7, r >= 0xD7B0 && r <= 0xD7C6:
		return gcbV
	case r >= 0x11A8 && r <= 0x11FF, r >= 0xD7CB && r <= 0xD7FB:
		return gcbT
	case r >= 0xAC00 && r <= 0xD7A3:
		if (r-0xAC00)%28 == 0 {
			return gcbLV
		}
		return gcbLVT
	case r >= 0x1F3FB && r <= 0x1F3FF: // emoji modifiers (skin tones)
		return gcbExtend
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Other_Grapheme_Extend):
		// Also ZWNJ, tag characters and the halfwidth sound marks.
		return gcbExtend
	case unicode.Is(unicode.Prepended_Concatenation_Mark, r), unicode.Is(prepend, r):
		return gcbPrepend
	case unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp):
		return gcbControl
	case r == 0x0E33 || r == 0x0EB3: // Thai and Lao SARA AM
		return gcbSpacingMark
	case unicode.Is(unicode.Mc, r):
		if unicode.Is(notSpacing, r) {
			return gcbOther
		}
		return gcbSpacingMark
	case unicode.Is(extPict, r):
		return gcbPict
	}
	return gcbOther
}

// isLinker and isConsonant give the Indic_Conjunct_Break classes Linker
// and Consonant of Unicode 15.1, for the scripts that have them.
func isLinker(r rune) bool {
	switch r {
	case 0x094D, 0x09CD, 0x0ACD, 0x0B4D, 0x0C4D, 0x0D4D:
		return true
	}
	return false
}

// incbExtend reports whether a rune of class Extend continues an Indic
// conjunct (Indic_Conjunct_Break=Extend), as all of them but ZWNJ do.
func incbExtend(r rune) bool { return r != 0x200C }

func isConsonant(r rune) bool {
	return r >= 0x0915 && r <= 0x0D3A && unicode.Is(incbConsonant, r)
}

// The tables below are read-only data, as in package unicode.

// prepend is Grapheme_Cluster_Break=Prepend less the
// Prepended_Concatenation_Mark characters unicode already has.
var prepend = &unicode.RangeTable{
	R16: []unicode.Range16{
		{Lo: 0x0D4E, Hi: 0x0D4E, Stride: 1},
	},
	R32: []unicode.Range32{
		{Lo: 0x111C2, Hi: 0x111C3, Stride: 1},
		{Lo: 0x1193F, Hi: 0x1193F, Stride: 1},
		{Lo: 0x11941, Hi: 0x11941, Stride: 1},
		{Lo: 0x11A3A, Hi: 0x11A3A, Stride: 1},
		{Lo: 0x11A84, Hi: 0x11A89, Stride: 1},
		{Lo: 0x11D46, Hi: 0x11D46, Stride: 1},
		{Lo: 0x11F02, Hi: 0x11F02, Stride: 1},
	},
}

// notSpacing lists the Mc characters that UAX #29 excludes from
// SpacingMark (those in Other_Grapheme_Extend are caught earlier).
var notSpacing = &unicode.RangeTable{
	R16: []unicode.Range16{
		{Lo: 0x102B, Hi: 0x102C, Stride: 1},
		{Lo: 0x1038, Hi: 0x1038, Stride: 1},
		{Lo: 0x1062, Hi: 0x1064, Stride: 1},
		{Lo: 0x1067, Hi: 0x106D, Stride: 1},
		{Lo: 0x1083, Hi: 0x1083, Stride: 1},
		{Lo: 0x1087, Hi: 0x108C, Stride: 1},
		{Lo: 0x108F, Hi: 0x108F, Stride: 1},
		{Lo: 0x109A, Hi: 0x109C, Stride: 1},
		{Lo: 0x1A61, Hi: 0x1A61, Stride: 1},
		{Lo: 0x1A63, Hi: 0x1A64, Stride: 1},
		{Lo: 0xAA7B, Hi: 0xAA7B, Stride: 1},
		{Lo: 0xAA7D, Hi: 0xAA7D, Stride: 1},
	},
	R32: []unicode.Range32{
		{Lo: 0x11720, Hi: 0x11721, Stride: 1},
	},
}

// incbConsonant is Indic_Conjunct_Break=Consonant (Unicode 15.1).
var incbConsonant = &unicode.RangeTable{
	R16: []unicode.Range16{
		// Devanagari
		{Lo: 0x0915, Hi: 0x0939, Stride: 1},
		{Lo: 0x0958, Hi: 0x095F, Stride: 1},
		{Lo: 0x0978, Hi: 0x097F, Stride: 1},
		// Bengali
		{Lo: 0x0995, Hi: 0x09A8, Stride: 1},
		{Lo: 0x09AA, Hi: 0x09B0, Stride: 1},
		{Lo: 0x09B2, Hi: 0x09B2, Stride: 1},
		{Lo: 0x09B6, Hi: 0x09B9, Stride: 1},
		{Lo: 0x09DC, Hi: 0x09DD, Stride: 1},
		{Lo: 0x09DF, Hi: 0x09DF, Stride: 1},
		{Lo: 0x09F0, Hi: 0x09F1, Stride: 1},
		// Gujarati
		{Lo: 0x0A95, Hi: 0x0AA8, Stride: 1},
		{Lo: 0x0AAA, Hi: 0x0AB0, Stride: 1},
		{Lo: 0x0AB2, Hi: 0x0AB3, Stride: 1},
		{Lo: 0x0AB5, Hi: 0x0AB9, Stride: 1},
		{Lo: 0x0AF9, Hi: 0x0AF9, Stride: 1},
		// Oriya
		{Lo: 0x0B15, Hi: 0x0B28, Stride: 1},
		{Lo: 0x0B2A, Hi: 0x0B30, Stride: 1},
		{Lo: 0x0B32, Hi: 0x0B33, Stride: 1},
		{Lo: 0x0B35, Hi: 0x0B39, Stride: 1},
		{Lo: 0x0B5C, Hi: 0x0B5D, Stride: 1},
		{Lo: 0x0B5F, Hi: 0x0B5F, Stride: 1},
		{Lo: 0x0B71, Hi: 0x0B71, Stride: 1},
		// Telugu
		{Lo: 0x0C15, Hi: 0x0C28, Stride: 1},
		{Lo: 0x0C2A, Hi: 0x0C39, Stride: 1},
		{Lo: 0x0C58, Hi: 0x0C5A, Stride: 1},
		// Malayalam
		{Lo: 0x0D15, Hi: 0x0D3A, Stride: 1},
	},
}

// extPict is Extended_Pictographic (emoji-data.txt), which package
// unicode does not carry.
var extPict = &unicode.RangeTable{
	LatinOffset: 2,
	R16: []unicode.Range16{
		{Lo: 0x00A9, Hi: 0x00A9, Stride: 1},
		{Lo: 0x00AE, Hi: 0x00AE, Stride: 1},
		{Lo: 0x203C, Hi: 0x203C, Stride: 1},
		{Lo: 0x2049, Hi: 0x2049, Stride: 1},
		{Lo: 0x2122, Hi: 0x2122, Stride: 1},
		{Lo: 0x2139, Hi: 0x2139, Stride: 1},
		{Lo: 0x2194, Hi: 0x2199, Stride: 1},
		{Lo: 0x21A9, Hi: 0x21AA, Stride: 1},
		{Lo: 0x231A, Hi: 0x231B, Stride: 1},
		{Lo: 0x2328, Hi: 0x2328, Stride: 1},
		{Lo: 0x2388, Hi: 0x2388, Stride: 1},
		{Lo: 0x23CF, Hi: 0x23CF, Stride: 1},
		{Lo: 0x23E9, Hi: 0x23F3, Stride: 1},
		{Lo: 0x23F8, Hi: 0x23FA, Stride: 1},
		{Lo: 0x24C2, Hi: 0x24C2, Stride: 1},
		{Lo: 0x25AA, Hi: 0x25AB, Stride: 1},
		{Lo: 0x25B6, Hi: 0x25B6, Stride: 1},
		{Lo: 0x25C0, Hi: 0x25C0, Stride: 1},
		{Lo: 0x25FB, Hi: 0x25FE, Stride: 1},
		{Lo: 0x2600, Hi: 0x2605, Stride: 1},
		{Lo: 0x2607, Hi: 0x2612, Stride: 1},
		{Lo: 0x2614, Hi: 0x2685, Stride: 1},
		{Lo: 0x2690, Hi: 0x2705, Stride: 1},
		{Lo: 0x2708, Hi: 0x2712, Stride: 1},
		{Lo: 0x2714, Hi: 0x2714, Stride: 1},
		{Lo: 0x2716, Hi: 0x2716, Stride: 1},
		{Lo: 0x271D, Hi: 0x271D, Stride: 1},
		{Lo: 0x2721, Hi: 0x2721, Stride: 1},
		{Lo: 0x2728, Hi: 0x2728, Stride: 1},
		{Lo: 0x2733, Hi: 0x2734, Stride: 1},
		{Lo: 0x2744, Hi: 0x2744, Stride: 1},
		{Lo: 0x2747, Hi: 0x2747, Stride: 1},
		{Lo: 0x274C, Hi: 0x274C, Stride: 1},
		{Lo: 0x274E, Hi: 0x274E, Stride: 1},
		{Lo: 0x2753, Hi: 0x2755, Stride: 1},
		{Lo: 0x2757, Hi: 0x2757, Stride: 1},
		{Lo: 0x2763, Hi: 0x2767, Stride: 1},
		{Lo: 0x2795, Hi: 0x2797, Stride: 1},
		{Lo: 0x27A1, Hi: 0x27A1, Stride: 1},
		{Lo: 0x27B0, Hi: 0x27B0, Stride: 1},
		{Lo: 0x27BF, Hi: 0x27BF, Stride: 1},
		{Lo: 0x2934, Hi: 0x2935, Stride: 1},
		{Lo: 0x2B05, Hi: 0x2B07, Stride: 1},
		{Lo: 0x2B1B, Hi: 0x2B1C, Stride: 1},
		{Lo: 0x2B50, Hi: 0x2B50, Stride: 1},
		{Lo: 0x2B55, Hi: 0x2B55, Stride: 1},
		{Lo: 0x3030, Hi: 0x3030, Stride: 1},
		{Lo: 0x303D, Hi: 0x303D, Stride: 1},
		{Lo: 0x3297, Hi: 0x3297, Stride: 1},
		{Lo: 0x3299, Hi: 0x3299, Stride: 1},
	},
	R32: []unicode.Range32{
		{Lo: 0x1F000, Hi: 0x1F0FF, Stride: 1},
		{Lo: 0x1F10D, Hi: 0x1F10F, Stride: 1},
		{Lo: 0x1F12F, Hi: 0x1F12F, Stride: 1},
		{Lo: 0x1F16C, Hi: 0x1F171, Stride: 1},
		{Lo: 0x1F17E, Hi: 0x1F17F, Stride: 1},
		{Lo: 0x1F18E, Hi: 0x1F18E, Stride: 1},
		{Lo: 0x1F191, Hi: 0x1F19A, Stride: 1},
		{Lo: 0x1F1AD, Hi: 0x1F1E5, Stride: 1},
		{Lo: 0x1F201, Hi: 0x1F20F, Stride: 1},
		{Lo: 0x1F21A, Hi: 0x1F21A, Stride: 1},
		{Lo: 0x1F22F, Hi: 0x1F22F, Stride: 1},
		{Lo: 0x1F232, Hi: 0x1F23A, Stride: 1},
		{Lo: 0x1F23C, Hi: 0x1F23F, Stride: 1},
		{Lo: 0x1F249, Hi: 0x1F3FA, Stride: 1},
		{Lo: 0x1F400, Hi: 0x1F53D, Stride: 1},
		{Lo: 0x1F546, Hi: 0x1F64F, Stride: 1},
		{Lo: 0x1F680, Hi: 0x1F6FF, Stride: 1},
		{Lo: 0x1F774, Hi: 0x1F77F, Stride: 1},
		{Lo: 0x1F7D5, Hi: 0x1F7FF, Stride: 1},
		{Lo: 0x1F80C, Hi: 0x1F80F, Stride: 1},
		{Lo: 0x1F848, Hi: 0x1F84F, Stride: 1},
		{Lo: 0x1F85A, Hi: 0x1F85F, Stride: 1},
		{Lo: 0x1F888, Hi: 0x1F88F, Stride: 1},
		{Lo: 0x1F8AE, Hi: 0x1F8FF, Stride: 1},
		{Lo: 0x1F90C, Hi: 0x1F93A, Stride: 1},
		{Lo: 0x1F93C, Hi: 0x1F945, Stride: 1},
		{Lo: 0x1F947, Hi: 0x1FAFF, Stride: 1},
		{Lo: 0x1FC00, Hi: 0x1FFFD, Stride: 1},
	},
}
