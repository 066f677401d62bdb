package blob

import (
	"bytes"
	"encoding/binary"
)

// tiff builds a little-endian TIFF/EXIF block; with gps, IFD0 points to a
// GPS IFD holding a latitude.
func tiff(gps bool) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("II*\x00")
	binary.Write(&b, le, uint32(8))
	if !gps {
		binary.Write(&b, le, uint16(1))
		binary.Write(&b, le, []uint16{0x010f, 2}) // Make, ASCII
		binary.Write(&b, le, []uint32{4, 0x00786548})
		binary.Write(&b, le, uint32(0))
		return b.Bytes()
	}
	binary.Write(&b, le, uint16(1))
	binary.Write(&b, le, []uint16{0x8825, 4}) // GPSInfo, LONG
	binary.Write(&b, le, []uint32{1, 26})
	binary.Write(&b, le, uint32(0))
	// GPS IFD at 26.
	binary.Write(&b, le, uint16(1))
	binary.Write(&b, le, []uint16{2, 5}) // GPSLatitude, RATIONAL
	binary.Write(&b, le, []uint32{3, 44})
	binary.Write(&b, le, uint32(0))
	binary.Write(&b, le, []uint32{52, 1, 31, 1, 0, 1}) // 52° 31' 0"
	return b.Bytes()
}

func jpegImage(gps bool) []byte {
	var b bytes.Buffer
	b.Write([]byte{0xff, 0xd8})
	exif := append([]byte("Exif\x00\x00"), tiff(gps)...)
	b.Write([]byte{0xff, 0xe1})
	binary.Write(&b, binary.BigEndian, uint16(len(exif)+2))
	b.Write(exif)
	b.Write([]byte{0xff, 0xda, 0x00, 0x02})
	b.Write(bytes.Repeat([]byte{0x55}, 100))
	b.Write([]byte{0xff, 0xd9})
	return b.Bytes()
}

func pngChunk(b *bytes.Buffer, typ string, data []byte) {
	binary.Write(b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	b.Write([]byte{0, 0, 0, 0}) // CRC, not checked by the scanner
}

func pngImage(gps bool) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	pngChunk(&b, "IHDR", make([]byte, 13))
	pngChunk(&b, "IDAT", bytes.Repeat([]byte{1}, 50))
	pngChunk(&b, "eXIf", tiff(gps))
	pngChunk(&b, "IEND", nil)
	return b.Bytes()
}

func webpImage(gps bool) []byte {
	var body bytes.Buffer
	body.WriteString("WEBP")
	chunk := func(typ string, data []byte) {
		body.WriteString(typ)
		binary.Write(&body, binary.LittleEndian, uint32(len(data)))
		body.Write(data)
		if len(data)%2 == 1 {
			body.WriteByte(0)
		}
	}
	chunk("VP8X", make([]byte, 10))
	chunk("VP8 ", bytes.Repeat([]byte{2}, 31))
	chunk("EXIF", tiff(gps))
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(body.Len()))
	b.Write(body.Bytes())
	return b.Bytes()
}

func box(typ string, payload ...[]byte) []byte {
	n := 8
	for _, p := range payload {
		n += len(p)
	}
	b := binary.BigEndian.AppendUint32(nil, uint32(n))
	b = append(b, typ...)
	for _, p := range payload {
		b = append(b, p...)
	}
	return b
}

func heicImage(brand string, gps bool) []byte {
	ftyp := box("ftyp", []byte(brand), []byte{0, 0, 0, 0}, []byte("mif1"), []byte(brand))
	exif := append([]byte{0, 0, 0, 0}, tiff(gps)...)
	infe := box("infe", []byte{2, 0, 0, 0}, []byte{0, 1, 0, 0}, []byte("Exif"), []byte{0})
	iinf := box("iinf", []byte{0, 0, 0, 0, 0, 1}, infe)
	mk := func(off uint32) []byte {
		iloc := []byte{0, 0, 0, 0, 0x44, 0x00, 0, 1, 0, 1, 0, 0, 0, 1}
		iloc = binary.BigEndian.AppendUint32(iloc, off)
		iloc = binary.BigEndian.AppendUint32(iloc, uint32(len(exif)))
		return box("meta", []byte{0, 0, 0, 0}, box("hdlr", make([]byte, 25)), iinf, box("iloc", iloc))
	}
	meta := mk(0)
	off := uint32(len(ftyp) + len(meta) + 8)
	meta = mk(off)
	return append(append(ftyp, meta...), box("mdat", exif)...)
}
