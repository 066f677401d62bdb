package syntax

import "time"

// MaxDatetimeLength bounds a datetime string; the longest plausible one
// (many fraction digits and an offset) is far shorter.
const MaxDatetimeLength = 64

// ValidateDatetime checks atproto datetime syntax, the overlap of RFC 3339
// and ISO 8601: YYYY-MM-DDTHH:MM:SS with exactly those digit counts, an
// optional fraction of one or more digits, and a zone of Z or ±HH:MM but
// not -00:00; upper-case T and Z. It checks shape only: "1985-13-99T25:99:99Z"
// passes, ParseDatetime refuses it.
func ValidateDatetime(s string) error {
	if len(s) > MaxDatetimeLength {
		return invalid("datetime", s, "longer than 64 characters")
	}
	if len(s) < len("0000-00-00T00:00:00Z") {
		return invalid("datetime", s, "too short")
	}
	const layout = "dddd-dd-ddTdd:dd:dd"
	for i := 0; i < len(layout); i++ {
		if layout[i] == 'd' && !isDigit(s[i]) || layout[i] != 'd' && s[i] != layout[i] {
			return invalid("datetime", s, "not YYYY-MM-DDTHH:MM:SS")
		}
	}
	i := len(layout)
	if s[i] == '.' {
		j := i + 1
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j == i+1 {
			return invalid("datetime", s, "empty fraction")
		}
		i = j
	}
	switch zone := s[i:]; {
	case zone == "Z":
	case len(zone) == 6 && (zone[0] == '+' || zone[0] == '-') &&
		isDigit(zone[1]) && isDigit(zone[2]) && zone[3] == ':' && isDigit(zone[4]) && isDigit(zone[5]):
		if zone == "-00:00" {
			// RFC 3339's "offset unknown"; ISO 8601 does not have it.
			return invalid("datetime", s, "zone -00:00")
		}
	default:
		return invalid("datetime", s, "zone must be Z or ±HH:MM")
	}
	return nil
}

// ParseDatetime checks the syntax of s and that it names a real instant:
// month 1–12, a day that exists in that month, hour ≤ 23, minute and
// second ≤ 59 (no leap seconds), zone offset ≤ 23:59, and a UTC year from
// 0000 to 9999. Fraction digits past the nanosecond are dropped. The time
// is returned in UTC.
func ParseDatetime(s string) (time.Time, error) {
	if err := ValidateDatetime(s); err != nil {
		return time.Time{}, err
	}
	num := func(from, to int) int {
		n := 0
		for i := from; i < to; i++ {
			n = n*10 + int(s[i]-'0')
		}
		return n
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec := num(11, 13), num(14, 16), num(17, 19)
	switch {
	case month < 1 || month > 12:
		return time.Time{}, invalid("datetime", s, "month out of range")
	case day < 1 || day > daysIn(year, month):
		return time.Time{}, invalid("datetime", s, "day out of range")
	case hour > 23 || minute > 59 || sec > 59:
		return time.Time{}, invalid("datetime", s, "time of day out of range")
	}
	nsec, i := 0, 19
	if s[i] == '.' {
		i++
		for k := 0; i < len(s) && isDigit(s[i]); i, k = i+1, k+1 {
			if k < 9 {
				nsec = nsec*10 + int(s[i]-'0')
			}
		}
		for k := i - 20; k < 9; k++ {
			nsec *= 10
		}
	}
	var offset time.Duration
	if s[i] != 'Z' {
		oh, om := num(i+1, i+3), num(i+4, i+6)
		if oh > 23 || om > 59 {
			return time.Time{}, invalid("datetime", s, "zone offset out of range")
		}
		offset = time.Duration(oh)*time.Hour + time.Duration(om)*time.Minute
		if s[i] == '-' {
			offset = -offset
		}
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC).Add(-offset)
	if y := t.Year(); y < 0 || y > 9999 {
		return time.Time{}, invalid("datetime", s, "outside the years 0000–9999 in UTC")
	}
	return t, nil
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
