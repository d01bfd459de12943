package transcript

import (
	"bytes"
	"math"
	"strconv"
)

// This file is the JSON scanner under transcript_parse.go: it walks a line
// once, checking its syntax as serde_json does (no control characters in
// strings, escapes well formed, numbers as JSON writes them, nothing after
// the value), skipping values without recursion, and noting what only a
// strict reading refuses (bad UTF-8, lone surrogates, deep nesting,
// numbers out of float range) and, for a line holding null, what ccusage's
// null rule refuses (transcript_null.go).

// txScan walks a line. A syntax error sets err and stops the walk.
type txScan struct {
	b     []byte
	i     int
	err   bool
	where string // what the syntax error was, for the problem report
	// strict says what a strict reading refuses in the line, "" if
	// nothing: bad text in any string, nesting past txMaxDepth, a number
	// out of float range. The daily reader refuses such a line, and so
	// does every reader when the line holds null (transcript_null.go).
	strict string
	depth  int // the depth of the object whose fields are being read
	stack  []byte
	null   txNullCheck
}

// refuse notes what a strict reading refuses, the first thing only.
func (s *txScan) refuse(what string) {
	if s.strict == "" {
		s.strict = what
	}
}

func (s *txScan) fail(what string) {
	if !s.err {
		s.err, s.where = true, what+" at byte "+strconv.Itoa(s.i)
	}
	s.i = len(s.b)
}

func (s *txScan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *txScan) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// num reads the number at s.i and returns it; fl reports whether it is a
// plain unsigned integer (digits only).
func (s *txScan) num() (raw []byte, plain bool) {
	b := s.b
	start := s.i
	i := start
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		s.i = i
		s.fail("bad number")
		return nil, false
	}
	plain = b[start] != '-'
	if i < len(b) && b[i] == '.' {
		plain = false
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			s.i = i
			s.fail("bad number")
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		plain = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			s.i = i
			s.fail("bad number")
			return nil, false
		}
	}
	raw = b[start:i]
	s.i = i
	if len(raw) > 300 || bytes.ContainsAny(raw, "eE") {
		if f, err := strconv.ParseFloat(string(raw), 64); err != nil && math.IsInf(f, 0) {
			s.refuse("a number out of float range")
		}
	}
	return raw, plain
}

// lit reads true, false or null.
func (s *txScan) lit() byte {
	for _, w := range [...]string{"true", "false", "null"} {
		if bytes.HasPrefix(s.b[s.i:], []byte(w)) {
			s.i += len(w)
			if w[0] == 'n' {
				s.null.on = true
			}
			return w[0]
		}
	}
	s.fail("bad value")
	return 0
}

// skip reads any value at s.i, held by the object being read (at s.depth),
// without recursion, noting for the null rule the names of the objects it
// walks and their null members (transcript_null.go).
func (s *txScan) skip() {
	depth := s.depth
	st := s.stack[:0]
	defer func() { s.stack = st[:0] }()
	var name []byte // the member whose value comes next, if any
	keyed := false
	for {
		s.ws()
		c := s.peek()
		if keyed && c == 'n' {
			// A member of an element of usage.iterations is at st [{.
			s.nullMember(name, s.null.iterations && len(st) == 2 && st[0] == '[')
		}
		keyed = false
		switch c {
		case '{', '[':
			if depth+len(st)+1 > txMaxDepth {
				s.refuse("nesting deeper than 127")
			}
			s.i++
			s.ws()
			if (c == '{' && s.peek() == '}') || (c == '[' && s.peek() == ']') {
				s.i++
				break
			}
			st = append(st, c)
			if c == '{' {
				s.openObject()
				if name, keyed = s.key(); !keyed {
					return
				}
			}
			continue
		case '"':
			s.str()
		case 't', 'f', 'n':
			s.lit()
		default:
			if c == '-' || (c >= '0' && c <= '9') {
				s.num()
			} else {
				s.fail("bad value")
			}
		}
		// After a value: close containers, or move to the next element.
		for {
			if s.err || len(st) == 0 {
				return
			}
			s.ws()
			top, c := st[len(st)-1], s.peek()
			if c == ',' {
				s.i++
				if top == '{' {
					if name, keyed = s.key(); !keyed {
						return
					}
				}
				break
			}
			if (top == '{' && c == '}') || (top == '[' && c == ']') {
				s.i++
				st = st[:len(st)-1]
				if top == '{' {
					s.closeObject()
				}
				continue
			}
			s.fail("expected , or end of container")
			return
		}
	}
}

// key reads `"name" :` inside an ignored object and returns the name,
// decoded.
func (s *txScan) key() ([]byte, bool) {
	s.ws()
	if s.peek() != '"' {
		s.fail("expected a key")
		return nil, false
	}
	off := s.i + 1
	name, fl := s.str()
	if !s.err {
		esc := fl&txEsc != 0
		if esc {
			s.null.buf1 = txUnescape(s.null.buf1[:0], name)
			name = s.null.buf1
		}
		s.member(off, s.i-1-off, name, esc)
	}
	s.ws()
	if s.peek() != ':' {
		s.fail("expected :")
		return nil, false
	}
	s.i++
	return name, !s.err
}

// fields walks the object at s.i, calling field for each key; field must
// read the value. A key that is not valid text sets *bad (a struct's field
// names must decode). It notes the object's names and null members for the
// null rule (transcript_null.go).
func (s *txScan) fields(bad *bool, buf *[]byte, field func(name []byte)) {
	outer := s.depth
	s.depth++
	defer func() { s.depth = outer }()
	if s.depth > txMaxDepth {
		s.refuse("nesting deeper than 127")
	}
	s.i++ // '{'
	s.ws()
	if s.peek() == '}' {
		s.i++
		return
	}
	s.openObject()
	for {
		if s.peek() != '"' {
			s.fail("expected a key")
			return
		}
		off := s.i + 1
		raw, fl := s.str()
		n := s.i - 1 - off
		if fl&txBadText != 0 {
			*bad = true
		}
		if fl&txEsc != 0 {
			*buf = txUnescape((*buf)[:0], raw)
			raw = *buf
		}
		s.member(off, n, raw, fl&txEsc != 0)
		s.ws()
		if s.peek() != ':' {
			s.fail("expected :")
			return
		}
		s.i++
		s.ws()
		if s.peek() == 'n' {
			s.nullMember(raw, false)
		}
		field(raw)
		if s.err {
			return
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
			s.ws()
		case '}':
			s.i++
			s.closeObject()
			return
		default:
			s.fail("expected , or }")
			return
		}
	}
}
