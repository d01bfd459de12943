package claude

import (
	"encoding/binary"
	"math"
	"unicode/utf8"
)

// The lexical half of the usage scanner (usagejson.go): keys, strings,
// integers, literals, and skipping the values nobody reads, with
// encoding/json's syntax rules.

// key reads the next key of an object being decoded, after its '{' and the
// fields before (first: none), and the ':' after it. It reports done at the
// object's '}'. It gives up on a key with escapes, which encoding/json
// might match to a field once unescaped; other then gives up on a key that
// it might match by case folding.
func (s *ujScan) key(first bool) (key []byte, done, ok bool) {
	s.ws()
	c := s.peek()
	if c == '}' {
		s.i++
		return nil, true, true
	}
	if !first {
		if c != ',' {
			return nil, false, false
		}
		s.i++
		s.ws()
		c = s.peek()
	}
	if c != '"' {
		return nil, false, false
	}
	raw, esc, ok := s.scanString()
	if !ok || esc {
		return nil, false, false
	}
	if !s.colon() {
		return nil, false, false
	}
	return raw, false, true
}

// colon reads the ':' after a key, with the whitespace around it.
func (s *ujScan) colon() bool {
	s.ws()
	if s.peek() != ':' {
		return false
	}
	s.i++
	s.ws()
	return true
}

// other skips the value of a key the object being decoded has no field
// for. It gives up on a key that encoding/json would match to a field case
// insensitively.
func (s *ujScan) other(key []byte) bool {
	return !ujFolds(key) && s.skip()
}

// ujFolds reports whether encoding/json might match key, which is not the
// name of a field of the object it is in, to a field case-insensitively:
// whether it has bytes of 0x80 and above (Unicode folding matches "ſ" to
// "s" and "\u212a", the Kelvin sign, to "k"), or has upper-case letters
// and is, lower-cased, the name of a field of any object the scanner
// decodes. That is more keys than encoding/json would match to a field of
// that object, which is fine: the scanner only gives up on more.
func ujFolds(key []byte) bool {
	var buf [len("cache_creation_input_tokens")]byte
	upper := false
	for i, c := range key {
		switch {
		case c >= 0x80:
			return true
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
			upper = true
		}
		if i < len(buf) {
			buf[i] = c
		}
	}
	if !upper || len(key) > len(buf) {
		return false
	}
	switch string(buf[:len(key)]) {
	case "type", "id", "model", "stop_reason", "usage", "error", "request_id", "message", "delta",
		"input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens",
		"cache_creation", "server_tool_use", "speed", "inference_geo",
		"ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens", "web_search_requests":
		return true
	}
	return false
}

// str reads a string or null into a string field: null leaves it as it is.
func (s *ujScan) str(dst *string) bool {
	if s.peek() == 'n' {
		return s.lit("null")
	}
	raw, ok := s.text()
	if ok {
		*dst = ujString(raw)
	}
	return ok
}

// strPtr reads a string or null into a *string field: null makes it nil, a
// string is put in slot (a new one if slot is nil).
func (s *ujScan) strPtr(dst **string, slot *string) bool {
	if s.peek() == 'n' {
		*dst = nil
		return s.lit("null")
	}
	raw, ok := s.text()
	if !ok {
		return false
	}
	if slot == nil {
		slot = new(string)
	}
	*slot = ujString(raw)
	*dst = slot
	return true
}

// intPtr reads an integer or null into an *int64 field: null makes it nil,
// an integer is put in slot.
func (s *ujScan) intPtr(dst **int64, slot *int64) bool {
	if s.peek() == 'n' {
		*dst = nil
		return s.lit("null")
	}
	n, ok := s.int()
	if ok {
		*slot, *dst = n, slot
	}
	return ok
}

// text reads a string that decodes to its own bytes: one without escapes,
// in valid UTF-8 (encoding/json replaces invalid bytes with U+FFFD).
func (s *ujScan) text() ([]byte, bool) {
	if s.peek() != '"' {
		return nil, false
	}
	raw, esc, ok := s.scanString()
	if !ok || esc || !utf8.Valid(raw) {
		return nil, false
	}
	return raw, true
}

// int reads a number that strconv.ParseInt takes, as encoding/json does
// for an int64: an integer (no fraction or exponent) in int64's range.
func (s *ujScan) int() (int64, bool) {
	b, i := s.b, s.i
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	start := i
	var u uint64
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		u = u*10 + uint64(b[i]-'0') // no overflow in the 19 digits let through
		i++
	}
	switch n := i - start; {
	case n == 0, n > 19, n > 1 && b[start] == '0':
		return 0, false
	case i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E'):
		return 0, false
	case neg && u > 1<<63, !neg && u > math.MaxInt64:
		return 0, false
	}
	s.i = i
	if neg {
		return int64(-u), true // -u wraps to -(1<<63) for u == 1<<63 as int64 wants
	}
	return int64(u), true
}

// ujString returns raw as a string, without allocating for the values of
// type, stop_reason, speed, inference_geo and error.type the API sends.
func ujString(raw []byte) string {
	switch string(raw) {
	case "message":
		return "message"
	case "message_start":
		return "message_start"
	case "message_delta":
		return "message_delta"
	case "message_stop":
		return "message_stop"
	case "error":
		return "error"
	case "end_turn":
		return "end_turn"
	case "max_tokens":
		return "max_tokens"
	case "stop_sequence":
		return "stop_sequence"
	case "tool_use":
		return "tool_use"
	case "pause_turn":
		return "pause_turn"
	case "refusal":
		return "refusal"
	case "model_context_window_exceeded":
		return "model_context_window_exceeded"
	case "fast":
		return "fast"
	case "standard":
		return "standard"
	case "us":
		return "us"
	case "global":
		return "global"
	case "invalid_request_error":
		return "invalid_request_error"
	case "authentication_error":
		return "authentication_error"
	case "billing_error":
		return "billing_error"
	case "permission_error":
		return "permission_error"
	case "not_found_error":
		return "not_found_error"
	case "request_too_large":
		return "request_too_large"
	case "rate_limit_error":
		return "rate_limit_error"
	case "api_error":
		return "api_error"
	case "timeout_error":
		return "timeout_error"
	case "overloaded_error":
		return "overloaded_error"
	}
	return string(raw)
}

// ws skips whitespace.
func (s *ujScan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// end reports whether nothing but whitespace is left.
func (s *ujScan) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// peek returns the byte at s.i, or 0 at the end.
func (s *ujScan) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// lit reads the literal word (true, false or null).
func (s *ujScan) lit(word string) bool {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return false
	}
	s.i += len(word)
	return true
}

// ujSpecial reports whether any of the 8 bytes in w is '"', '\\' or a
// control character: a byte a string's scan must look at.
func ujSpecial(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zero := func(x uint64) uint64 { return (x - ones) &^ x & highs }
	return (zero(w^(ones*'"')) | zero(w^(ones*'\\')) | zero(w&(ones*0xe0))) != 0
}

// ujPlain says which bytes a string holds as they are: all but '"', '\\'
// and control characters.
var ujPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString reads the string at s.i, which starts with '"'. It returns the
// bytes between the quotes and whether they hold escapes; ok is false for a
// malformed string. Bytes of 0x80 and above are not checked, as
// encoding/json's scanner does not check them.
func (s *ujScan) scanString() (raw []byte, esc, ok bool) {
	b := s.b
	i := s.i + 1
	start := i
	for {
		for i+8 <= len(b) && !ujSpecial(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		for i < len(b) && ujPlain[b[i]] {
			i++
		}
		if i >= len(b) {
			return nil, false, false
		}
		switch b[i] {
		case '"':
			s.i = i + 1
			return b[start:i], esc, true
		case '\\':
			esc = true
			if i+1 >= len(b) {
				return nil, false, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !ujHex(b[i+2]) || !ujHex(b[i+3]) || !ujHex(b[i+4]) || !ujHex(b[i+5]) {
					return nil, false, false
				}
				i += 6
			default:
				return nil, false, false
			}
		default: // a control character
			return nil, false, false
		}
	}
}

// ujHex reports whether c is a hexadecimal digit.
func ujHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// skip skips the value at s.i, checking its syntax.
func (s *ujScan) skip() bool {
	switch s.peek() {
	case '"':
		_, _, ok := s.scanString()
		return ok
	case '{', '[':
		return s.skipNested()
	case 't':
		return s.lit("true")
	case 'f':
		return s.lit("false")
	case 'n':
		return s.lit("null")
	}
	return s.skipNumber()
}

// skipNumber skips the number at s.i, checking it is one as JSON writes
// them.
func (s *ujScan) skipNumber() bool {
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = ujDigits(b, i+1)
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		j := ujDigits(b, i+1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := ujDigits(b, i)
		if j == i {
			return false
		}
		i = j
	}
	s.i = i
	return true
}

// ujDigits returns the index of the first byte at or after i in b that is
// not a decimal digit.
func ujDigits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// skipNested skips the array or object at s.i, checking its syntax, with
// a loop rather than recursion: a bit for each level says whether it is an
// array.
func (s *ujScan) skipNested() bool {
	var arrays [(ujMaxDepth + 63) / 64]uint64
	var depth uint // the levels open
	for {
		// A value starts at s.i.
		switch c := s.peek(); c {
		case '{', '[':
			if depth == ujMaxDepth {
				return false
			}
			s.i++
			s.ws()
			if c == '[' {
				arrays[depth>>6] |= 1 << (depth & 63)
			} else {
				arrays[depth>>6] &^= 1 << (depth & 63)
			}
			depth++
			if s.peek() != c+2 { // not empty: ']' is '['+2 and '}' is '{'+2
				if c == '{' && !s.skipKey() {
					return false
				}
				continue
			}
			s.i++
			depth--
		default:
			if !s.skip() {
				return false
			}
		}
		// After a value: close the levels it ends, then move on to the
		// next value.
		for {
			if depth == 0 {
				return true
			}
			s.ws()
			c := s.peek()
			s.i++
			d := depth - 1
			array := arrays[d>>6]&(1<<(d&63)) != 0
			if c == ',' {
				s.ws()
				if !array && !s.skipKey() {
					return false
				}
				break
			}
			if array && c == ']' || !array && c == '}' {
				depth--
				continue
			}
			return false
		}
	}
}

// skipKey skips a key of an object being skipped and the ':' after it.
func (s *ujScan) skipKey() bool {
	if s.peek() != '"' {
		return false
	}
	if _, _, ok := s.scanString(); !ok {
		return false
	}
	return s.colon()
}
