package syntax

import "fmt"

// MaxRecordKeyLength is the spec's limit on a record key.
const MaxRecordKeyLength = 512

// ParseRecordKey checks record-key syntax: 1–512 characters of
// A-Za-z0-9 and . _ : ~ -, and not "." or ".." (they would read as path
// segments in an AT-URI). Which keys a collection accepts (tid, nsid,
// literal:…) is the lexicon's business, not this function's.
func ParseRecordKey(s string) (string, error) {
	if len(s) == 0 || len(s) > MaxRecordKeyLength {
		return "", invalid("record key", s, "must be 1–512 characters")
	}
	if s == "." || s == ".." {
		return "", invalid("record key", s, `"." and ".." are not allowed`)
	}
	for i := 0; i < len(s); i++ {
		if !isRecordKeyChar(s[i]) {
			return "", invalid("record key", s, fmt.Sprintf("character %q", s[i]))
		}
	}
	return s, nil
}

func isRecordKeyChar(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == ':' || c == '~' || c == '-'
}
