package syntax

import "strings"

// ValidateCIDString is the loose check of lexicon "format: cid": 8–256
// characters of A-Za-z0-9, '+' and '=' (the alphabets of the multibase
// encodings a CID string can use), and not a CIDv0, which atproto does not
// accept. A CIDv0 is bare base58 and always starts "Qm"; no multibase
// prefix is 'Q', so nothing else is lost by refusing that prefix. It does
// not decode the CID; a strict parser does that where the bytes matter.
func ValidateCIDString(s string) error {
	if len(s) < 8 || len(s) > 256 {
		return invalid("cid", s, "must be 8–256 characters")
	}
	if strings.HasPrefix(s, "Qm") {
		return invalid("cid", s, "CIDv0 is not supported")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '+' && c != '=' {
			return invalid("cid", s, "character outside the multibase alphabets")
		}
	}
	return nil
}
