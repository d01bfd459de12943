package transcript

import (
	"encoding/binary"
	"unicode/utf8"
)

// This file reads JSON strings for the scanner (transcript_json.go): it
// finds a string's end eight bytes at a time, checks its escapes and text
// as serde_json does, and decodes it when a field needs its value.

// String flags from txScan.str.
const (
	txEsc     = 1 << iota // the string holds escapes
	txHigh                // the string holds bytes of 0x80 and above
	txBadText             // invalid UTF-8 or a lone surrogate escape
)

// txSpecial reports whether any of the 8 bytes in w is '"', '\\', a control
// character or a byte of 0x80 and above.
func txSpecial(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zero := func(x uint64) uint64 { return (x - ones) & ^x & highs }
	return (zero(w^(ones*'"')) | zero(w^(ones*'\\')) | ((w - ones*0x20) &^ w & highs) | (w & highs)) != 0
}

// str reads the string at s.i (a '"') and returns its raw contents and flags.
func (s *txScan) str() (raw []byte, fl uint8) {
	b := s.b
	i := s.i + 1
	start := i
	for {
		for i+8 <= len(b) && !txSpecial(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		if i >= len(b) {
			s.fail("unterminated string")
			return nil, 0
		}
		switch c := b[i]; {
		case c == '"':
			raw = b[start:i]
			s.i = i + 1
			if fl&txHigh != 0 && !utf8.Valid(raw) {
				fl |= txBadText
			}
			if fl&txBadText != 0 {
				s.refuse("invalid UTF-8 or a lone surrogate in a string")
			}
			return raw, fl
		case c == '\\':
			fl |= txEsc
			if i+1 >= len(b) {
				s.i = i
				s.fail("unterminated string")
				return nil, 0
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				r, ok := txHex4(b, i+2)
				if !ok {
					s.i = i
					s.fail("bad \\u escape")
					return nil, 0
				}
				i += 6
				switch {
				case r >= 0xdc00 && r <= 0xdfff:
					fl |= txBadText
				case r >= 0xd800 && r <= 0xdbff:
					if lo, ok := txHex4(b, i+2); ok && i+1 < len(b) && b[i] == '\\' && b[i+1] == 'u' && lo >= 0xdc00 && lo <= 0xdfff {
						i += 6
					} else {
						fl |= txBadText
					}
				}
			default:
				s.i = i
				s.fail("bad escape")
				return nil, 0
			}
		case c < 0x20:
			s.i = i
			s.fail("control character in string")
			return nil, 0
		default: // 0x80 and above
			fl |= txHigh
			i++
		}
	}
}

// txHex4 decodes the 4 hex digits at b[i:].
func txHex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// txUnescape appends the decoded contents of a string with escapes (whose
// escapes str validated) to dst.
func txUnescape(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch raw[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, _ := txHex4(raw, i+2)
			i += 6
			if r >= 0xd800 && r <= 0xdbff && i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
				lo, _ := txHex4(raw, i+2)
				r = (r-0xd800)<<10 | (lo - 0xdc00) + 0x10000
				i += 6
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, raw[i+1])
		}
		i += 2
	}
	return dst
}
