package blob

import (
	"encoding/binary"
	"errors"
	"io"
)

// FindLocation looks for GPS coordinates in the EXIF metadata of a JPEG,
// PNG, WebP, HEIC or AVIF image and names where it found them ("" when
// there are none). It reads only headers and the EXIF block, never the
// whole image.
func FindLocation(r io.ReaderAt, size int64) (string, error) {
	head := make([]byte, 16)
	n, _ := r.ReadAt(head, 0)
	head = head[:n]
	var tiff []byte
	var where string
	var err error
	switch Sniff(head) {
	case "image/jpeg":
		tiff, err = jpegExif(r, size)
		where = "JPEG EXIF GPS"
	case "image/png":
		tiff, err = pngExif(r, size)
		where = "PNG eXIf GPS"
	case "image/webp":
		tiff, err = webpExif(r, size)
		where = "WebP EXIF GPS"
	case "image/heic", "image/heif", "image/avif":
		tiff, err = bmffExif(r, size)
		where = "HEIF Exif item GPS"
	default:
		return "", nil
	}
	if err != nil || tiff == nil {
		return "", nil // unreadable metadata is not location data
	}
	if tiffHasGPS(tiff) {
		return where, nil
	}
	return "", nil
}

const maxExif = 1 << 20

func readAt(r io.ReaderAt, off, n int64) ([]byte, error) {
	if n < 0 || n > maxExif {
		return nil, errors.New("metadata block too large")
	}
	b := make([]byte, n)
	k, err := r.ReadAt(b, off)
	if int64(k) < n {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

func jpegExif(r io.ReaderAt, size int64) ([]byte, error) {
	off := int64(2)
	for off+4 <= size {
		h, err := readAt(r, off, 4)
		if err != nil {
			return nil, err
		}
		if h[0] != 0xff {
			return nil, nil
		}
		marker := h[1]
		if marker == 0xda || marker == 0xd9 { // start of scan, end of image
			return nil, nil
		}
		if marker == 0xff || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7) {
			off += 2 // fill byte or a marker without a length
			continue
		}
		l := int64(binary.BigEndian.Uint16(h[2:]))
		if l < 2 {
			return nil, nil
		}
		if marker == 0xe1 && l > 8 {
			seg, err := readAt(r, off+4, l-2)
			if err != nil {
				return nil, err
			}
			if string(seg[:6]) == "Exif\x00\x00" {
				return seg[6:], nil
			}
		}
		off += 2 + l
	}
	return nil, nil
}

func pngExif(r io.ReaderAt, size int64) ([]byte, error) {
	off := int64(8)
	for off+8 <= size {
		h, err := readAt(r, off, 8)
		if err != nil {
			return nil, err
		}
		l := int64(binary.BigEndian.Uint32(h))
		switch string(h[4:8]) {
		case "eXIf":
			return readAt(r, off+8, l)
		case "IEND":
			return nil, nil
		}
		off += 12 + l
	}
	return nil, nil
}

func webpExif(r io.ReaderAt, size int64) ([]byte, error) {
	off := int64(12)
	for off+8 <= size {
		h, err := readAt(r, off, 8)
		if err != nil {
			return nil, err
		}
		l := int64(binary.LittleEndian.Uint32(h[4:]))
		if string(h[:4]) == "EXIF" {
			b, err := readAt(r, off+8, l)
			if err != nil {
				return nil, err
			}
			if len(b) > 6 && string(b[:6]) == "Exif\x00\x00" {
				b = b[6:]
			}
			return b, nil
		}
		off += 8 + l + l&1
	}
	return nil, nil
}

// bmffExif finds the Exif item of a HEIF file through meta/iinf and iloc.
func bmffExif(r io.ReaderAt, size int64) ([]byte, error) {
	meta, err := findBox(r, 0, size, "meta")
	if err != nil || len(meta) < 4 {
		return nil, err
	}
	body := meta[4:] // full box: version and flags
	var exifID uint32
	var iloc []byte
	for p := 0; p+8 <= len(body); {
		bl := int(binary.BigEndian.Uint32(body[p:]))
		typ := string(body[p+4 : p+8])
		if bl < 8 || p+bl > len(body) {
			break
		}
		box := body[p+8 : p+bl]
		switch typ {
		case "iinf":
			exifID = iinfExif(box)
		case "iloc":
			iloc = box
		}
		p += bl
	}
	if exifID == 0 || iloc == nil {
		return nil, nil
	}
	off, l, ok := ilocExtent(iloc, exifID)
	if !ok || l < 4 {
		return nil, nil
	}
	b, err := readAt(r, off, l)
	if err != nil {
		return nil, err
	}
	skip := int64(binary.BigEndian.Uint32(b)) + 4
	if skip >= int64(len(b)) {
		return nil, nil
	}
	return b[skip:], nil
}

func findBox(r io.ReaderAt, off, end int64, want string) ([]byte, error) {
	for off+8 <= end {
		h, err := readAt(r, off, 8)
		if err != nil {
			return nil, err
		}
		l := int64(binary.BigEndian.Uint32(h))
		if l == 1 {
			x, err := readAt(r, off+8, 8)
			if err != nil {
				return nil, err
			}
			l = int64(binary.BigEndian.Uint64(x))
		}
		if l < 8 {
			return nil, nil
		}
		if string(h[4:8]) == want {
			return readAt(r, off+8, l-8)
		}
		off += l
	}
	return nil, nil
}

func iinfExif(box []byte) uint32 {
	if len(box) < 6 {
		return 0
	}
	p := 6 // version/flags + u16 count
	if box[0] != 0 {
		p = 8
	}
	for p+8 <= len(box) {
		bl := int(binary.BigEndian.Uint32(box[p:]))
		if bl < 8 || p+bl > len(box) {
			return 0
		}
		if string(box[p+4:p+8]) == "infe" && bl >= 8+4+8 {
			e := box[p+8 : p+bl]
			var id uint32
			var typ string
			switch e[0] {
			case 2:
				id, typ = uint32(binary.BigEndian.Uint16(e[4:])), string(e[8:12])
			case 3:
				if len(e) >= 14 {
					id, typ = binary.BigEndian.Uint32(e[4:]), string(e[10:14])
				}
			}
			if typ == "Exif" {
				return id
			}
		}
		p += bl
	}
	return 0
}

func ilocExtent(b []byte, want uint32) (int64, int64, bool) {
	if len(b) < 8 {
		return 0, 0, false
	}
	v := b[0]
	offSize, lenSize := int(b[4]>>4), int(b[4]&15)
	baseSize, idxSize := int(b[5]>>4), int(b[5]&15)
	p := 6
	read := func(n int) (uint64, bool) {
		if p+n > len(b) {
			return 0, false
		}
		var x uint64
		for i := 0; i < n; i++ {
			x = x<<8 | uint64(b[p+i])
		}
		p += n
		return x, true
	}
	var count uint64
	var ok bool
	if v < 2 {
		count, ok = read(2)
	} else {
		count, ok = read(4)
	}
	for i := uint64(0); ok && i < count; i++ {
		var id uint64
		if v < 2 {
			id, ok = read(2)
		} else {
			id, ok = read(4)
		}
		if v == 1 || v == 2 {
			read(2) // construction method
		}
		read(2) // data reference index
		base, _ := read(baseSize)
		extents, ok2 := read(2)
		if !ok || !ok2 {
			return 0, 0, false
		}
		for e := uint64(0); e < extents; e++ {
			if (v == 1 || v == 2) && idxSize > 0 {
				read(idxSize)
			}
			eo, _ := read(offSize)
			el, ok3 := read(lenSize)
			if !ok3 {
				return 0, 0, false
			}
			if uint32(id) == want && e == 0 {
				return int64(base + eo), int64(el), true
			}
		}
	}
	return 0, 0, false
}

// tiffHasGPS reports whether a TIFF/EXIF block's IFD0 points to a GPS IFD
// holding a latitude or longitude.
func tiffHasGPS(t []byte) bool {
	if len(t) < 8 {
		return false
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return false
	}
	entries := func(off uint32) [][]byte {
		if int(off)+2 > len(t) {
			return nil
		}
		n := int(bo.Uint16(t[off:]))
		var out [][]byte
		for i := 0; i < n; i++ {
			p := int(off) + 2 + 12*i
			if p+12 > len(t) {
				break
			}
			out = append(out, t[p:p+12])
		}
		return out
	}
	for _, e := range entries(bo.Uint32(t[4:])) {
		if bo.Uint16(e) == 0x8825 {
			for _, g := range entries(bo.Uint32(e[8:])) {
				if tag := bo.Uint16(g); tag >= 1 && tag <= 4 {
					return true
				}
			}
		}
	}
	return false
}
