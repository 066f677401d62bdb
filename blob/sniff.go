package blob

import "bytes"

// Sniff names the media type of content from its first bytes, or "" when
// it is not a format Hearth recognises.
func Sniff(b []byte) string {
	has := func(off int, sig string) bool { return len(b) >= off+len(sig) && string(b[off:off+len(sig)]) == sig }
	switch {
	case has(0, "\xff\xd8\xff"):
		return "image/jpeg"
	case has(0, "\x89PNG\r\n\x1a\n"):
		return "image/png"
	case has(0, "GIF87a"), has(0, "GIF89a"):
		return "image/gif"
	case has(0, "RIFF") && has(8, "WEBP"):
		return "image/webp"
	case has(0, "II*\x00"), has(0, "MM\x00*"):
		return "image/tiff"
	case has(0, "BM") && len(b) > 14:
		return "image/bmp"
	case has(0, "\x1a\x45\xdf\xa3"):
		return "video/webm"
	case has(4, "ftyp"):
		return ftypType(b)
	}
	return ""
}

// ftypType reads the major and compatible brands of an ISO BMFF file.
func ftypType(b []byte) string {
	if len(b) < 12 {
		return ""
	}
	size := int(b[0])<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3])
	if size < 16 || size > len(b) {
		size = min(len(b), 64)
	}
	brands := [][]byte{b[8:12]}
	for i := 16; i+4 <= size; i += 4 {
		brands = append(brands, b[i:i+4])
	}
	for _, br := range brands {
		switch string(br) {
		case "avif", "avis":
			return "image/avif"
		case "heic", "heix", "heim", "heis", "mif1", "msf1":
			if bytes.Equal(br, []byte("mif1")) || bytes.Equal(br, []byte("msf1")) {
				continue // generic HEIF brand: look for a more specific one first
			}
			return "image/heic"
		}
	}
	for _, br := range brands {
		switch string(br) {
		case "mif1", "msf1":
			return "image/heif"
		case "qt  ":
			return "video/quicktime"
		case "isom", "iso2", "mp41", "mp42", "avc1", "dash", "M4V ", "iso5", "iso6":
			return "video/mp4"
		}
	}
	return ""
}
