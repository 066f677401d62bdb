package syntax

import "strings"

// maxLanguageLength bounds a language tag. RFC 5646 sets no limit, but real
// tags are a few dozen characters and the repeat checks are quadratic.
const maxLanguageLength = 256

// ValidateLanguage checks a BCP 47 language tag (RFC 5646 §2.1) as atproto
// accepts it: a primary language of two or three lower-case letters with up
// to three extlangs, then optional script, region, variants, extensions
// and private use; or a private-use tag (x-…); or one of the grandfathered
// irregular tags. Subtags after the primary language are case-insensitive.
// It also applies the validity rule of §2.2.9 that the parse vectors test:
// no variant and no extension singleton may repeat, ignoring case.
func ValidateLanguage(s string) error {
	if s == "" || len(s) > maxLanguageLength {
		return invalid("language", s, "length")
	}
	if isIrregularTag(s) {
		return nil
	}
	// Every subtag is 1–8 ASCII letters or digits.
	for start, i := 0, 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '-' {
			if !isAlnum(s[i]) {
				return invalid("language", s, "subtags are letters and digits")
			}
			continue
		}
		if n := i - start; n < 1 || n > 8 {
			return invalid("language", s, "subtags are 1–8 characters")
		}
		start = i + 1
	}
	t := subtags{s: s}
	first := t.next()
	if first == "x" || first == "X" {
		return t.privateUse()
	}
	if len(first) < 2 || len(first) > 3 || !isLower(first) {
		// atproto writes the primary language in lower case and does not
		// accept the 4–8 letter forms RFC 5646 reserves.
		return invalid("language", s, "primary language must be 2 or 3 lower-case letters")
	}
	p := t.peek()
	for k := 0; k < 3 && len(p) == 3 && isLetters(p); k++ {
		t.next() // extlang
		p = t.peek()
	}
	if len(p) == 4 && isLetters(p) {
		t.next() // script
		p = t.peek()
	}
	if len(p) == 2 && isLetters(p) || len(p) == 3 && isDigits(p) {
		t.next() // region
		p = t.peek()
	}
	var variants []string
	for isVariant(p) {
		for _, v := range variants {
			if strings.EqualFold(v, p) {
				return invalid("language", s, "repeated variant "+p)
			}
		}
		variants = append(variants, p)
		t.next()
		p = t.peek()
	}
	var seen [36]bool // extension singletons 0-9a-z
	for len(p) == 1 && p != "x" && p != "X" {
		singleton := p
		k := singletonIndex(singleton[0])
		if seen[k] {
			return invalid("language", s, "repeated extension "+singleton)
		}
		seen[k] = true
		t.next()
		n := 0
		for p = t.peek(); len(p) >= 2; p = t.peek() {
			t.next()
			n++
		}
		if n == 0 {
			return invalid("language", s, "empty extension "+singleton)
		}
	}
	if p == "x" || p == "X" {
		t.next()
		return t.privateUse()
	}
	if !t.done() {
		return invalid("language", s, "unexpected subtag "+p)
	}
	return nil
}

// subtags walks the '-'-separated parts of a tag.
type subtags struct {
	s   string
	pos int
}

func (t *subtags) done() bool { return t.pos >= len(t.s) }

func (t *subtags) peek() string {
	if t.done() {
		return ""
	}
	end := strings.IndexByte(t.s[t.pos:], '-')
	if end < 0 {
		return t.s[t.pos:]
	}
	return t.s[t.pos : t.pos+end]
}

func (t *subtags) next() string {
	p := t.peek()
	t.pos += len(p) + 1
	return p
}

// privateUse checks what follows an "x" subtag: at least one more subtag
// (each already known to be 1–8 letters or digits).
func (t *subtags) privateUse() error {
	if t.done() {
		return invalid("language", t.s, "empty private-use section")
	}
	return nil
}

func isVariant(p string) bool {
	return len(p) >= 5 && len(p) <= 8 || len(p) == 4 && isDigit(p[0])
}

func singletonIndex(c byte) int {
	if isDigit(c) {
		return int(c - '0')
	}
	return int(c|0x20-'a') + 10
}

func isLower(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlpha(s[i]) {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// isIrregularTag reports the grandfathered tags of RFC 5646 §2.2.8 that do
// not fit the langtag grammar, in their registered case. (The regular
// grandfathered tags, such as zh-hakka, fit it and need no list.)
func isIrregularTag(s string) bool {
	switch s {
	case "en-GB-oed", "i-ami", "i-bnn", "i-default", "i-enochian", "i-hak",
		"i-klingon", "i-lux", "i-mingo", "i-navajo", "i-pwn", "i-tao", "i-tay",
		"i-tsu", "sgn-BE-FR", "sgn-BE-NL", "sgn-CH-DE":
		return true
	}
	return false
}
