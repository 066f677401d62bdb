package syntax

import (
	"fmt"
	"strings"
)

// ValidateLanguage checks a BCP 47 language tag (RFC 5646 syntax: language
// with extlangs, script, region, variants, extensions, private use, or a
// grandfathered irregular tag), rejecting repeated variants or extension
// singletons.
func ValidateLanguage(s string) error {
	bad := func(why string) error { return fmt.Errorf("%w: language %q: %s", ErrInvalid, trunc(s), why) }
	if s == "" || len(s) > 128 {
		return bad("length")
	}
	lower := strings.ToLower(s)
	if irregular[lower] {
		return nil
	}
	subs := strings.Split(s, "-")
	for _, p := range subs {
		if p == "" || len(p) > 8 || !alnum(p) {
			return bad("subtag")
		}
	}
	i := 0
	first := subs[0]
	switch {
	case (first == "x" || first == "X"):
		if len(subs) < 2 {
			return bad("empty private use")
		}
		return nil
	case first == "i" && len(subs) >= 2:
		return nil // other grandfathered i- tags
	case lowerAlpha(first) && len(first) >= 2 && len(first) <= 3:
		// The primary language is lower case here, as atproto writes it.
		i = 1
		for ext := 0; ext < 3 && i < len(subs) && len(subs[i]) == 3 && alpha(subs[i]); ext++ {
			i++
		}
	default:
		return bad("primary language")
	}
	if i < len(subs) && len(subs[i]) == 4 && alpha(subs[i]) {
		i++ // script
	}
	if i < len(subs) && (len(subs[i]) == 2 && alpha(subs[i]) || len(subs[i]) == 3 && digit(subs[i])) {
		i++ // region
	}
	variants := map[string]bool{}
	for i < len(subs) && isVariant(subs[i]) {
		v := strings.ToLower(subs[i])
		if variants[v] {
			return bad("repeated variant")
		}
		variants[v] = true
		i++
	}
	singletons := map[string]bool{}
	for i < len(subs) && len(subs[i]) == 1 && subs[i] != "x" && subs[i] != "X" {
		sg := strings.ToLower(subs[i])
		if singletons[sg] {
			return bad("repeated extension")
		}
		singletons[sg] = true
		i++
		n := 0
		for i < len(subs) && len(subs[i]) >= 2 {
			n++
			i++
		}
		if n == 0 {
			return bad("empty extension")
		}
	}
	if i < len(subs) && (subs[i] == "x" || subs[i] == "X") {
		if i == len(subs)-1 {
			return bad("empty private use")
		}
		return nil
	}
	if i != len(subs) {
		return bad("unexpected subtag " + subs[i])
	}
	return nil
}

func isVariant(p string) bool {
	return len(p) >= 5 && len(p) <= 8 || len(p) == 4 && p[0] >= '0' && p[0] <= '9'
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if !(c >= 'a' && c <= 'z' || s[i] >= '0' && s[i] <= '9') {
			return false
		}
	}
	return true
}

func lowerAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

func alpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func digit(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

var irregular = map[string]bool{
	"en-gb-oed": true, "i-ami": true, "i-bnn": true, "i-default": true, "i-enochian": true,
	"i-hak": true, "i-klingon": true, "i-lux": true, "i-mingo": true, "i-navajo": true,
	"i-pwn": true, "i-tao": true, "i-tay": true, "i-tsu": true, "sgn-be-fr": true,
	"sgn-be-nl": true, "sgn-ch-de": true,
}
