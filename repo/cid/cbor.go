package cid

import (
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// TagLink is the CBOR tag of a CID link in DAG-CBOR.
const TagLink = 42

// MarshalCBOR encodes c as tag 42 over a byte string of 0x00 and the binary CID.
// The zero CID encodes as null, which is how nullable links (a commit's prev,
// an MST node's l and t) are written.
func (c CID) MarshalCBOR() ([]byte, error) {
	if !c.Defined() {
		return []byte{0xf6}, nil
	}
	// d8 2a = tag(42); 58 25 = bytes(37).
	b := make([]byte, 0, 4+1+Size)
	b = append(b, 0xd8, TagLink, 0x58, 1+Size, 0x00)
	return c.AppendBinary(b), nil
}

// UnmarshalCBOR decodes tag 42, or null as the zero CID.
func (c *CID) UnmarshalCBOR(data []byte) error {
	if len(data) == 1 && data[0] == 0xf6 {
		*c = CID{}
		return nil
	}
	var tag cbor.RawTag
	if err := tag.UnmarshalCBOR(data); err != nil {
		return fmt.Errorf("%w: link: %v", ErrInvalid, err)
	}
	if tag.Number != TagLink {
		return fmt.Errorf("%w: tag %d, want %d", ErrInvalid, tag.Number, TagLink)
	}
	// The content must be a definite-length byte string in minimal form.
	raw := tag.Content
	if len(raw) != 2+1+Size || raw[0] != 0x58 || raw[1] != 1+Size {
		return fmt.Errorf("%w: link content is not a %d-byte string", ErrInvalid, 1+Size)
	}
	if raw[2] != 0x00 {
		return fmt.Errorf("%w: link lacks the 0x00 multibase prefix", ErrInvalid)
	}
	d, err := Decode(raw[3:])
	if err != nil {
		return err
	}
	*c = d
	return nil
}

// MarshalText gives the string form, so a CID reads well in JSON and logs.
func (c CID) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText parses the string form.
func (c *CID) UnmarshalText(b []byte) error {
	d, err := Parse(string(b))
	if err != nil {
		return err
	}
	*c = d
	return nil
}
