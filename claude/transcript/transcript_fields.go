package transcript

import (
	"math"
	"strconv"
)

// This file holds the kinds of field txLine reads (transcript_parse.go):
// text, counts, flags and numbers, each with the state serde would give it
// (absent, null, set, or bad).

// Field states, as serde sees a field of a struct.
type txState uint8

const (
	txAbsent txState = iota
	txNull           // null: None for an Option, an error otherwise
	txSet
	txBad // the wrong type, undecodable text, or given twice: an error
)

// see marks a field as seen, returning false (and marking it bad) when it
// was seen before: serde refuses duplicate fields.
func (st *txState) see() bool {
	if *st != txAbsent {
		*st = txBad
		return false
	}
	return true
}

// txText is a string field.
type txText struct {
	st  txState
	val []byte // decoded; points into the line or into buf
	buf []byte
}

func (s *txScan) text(t *txText) {
	if !t.st.see() {
		s.skip()
		return
	}
	switch s.peek() {
	case '"':
		raw, fl := s.str()
		switch {
		case fl&txBadText != 0:
			t.st = txBad
		case fl&txEsc != 0:
			t.buf = txUnescape(t.buf[:0], raw)
			t.val, t.st = t.buf, txSet
		default:
			t.val, t.st = raw, txSet
		}
	case 'n':
		if s.lit() == 'n' {
			t.st = txNull
		} else {
			t.st = txBad
		}
	default:
		t.st = txBad
		s.skip()
	}
}

// txCount is an unsigned integer field.
type txCount struct {
	st  txState
	val uint64
}

func (s *txScan) count(n *txCount) {
	if !n.st.see() {
		s.skip()
		return
	}
	c := s.peek()
	switch {
	case c == 'n':
		if s.lit() == 'n' {
			n.st = txNull
		} else {
			n.st = txBad
		}
	case c == '-' || (c >= '0' && c <= '9'):
		raw, plain := s.num()
		v, ok := txUint(raw)
		if !plain || !ok {
			n.st = txBad
			return
		}
		n.val, n.st = v, txSet
	default:
		n.st = txBad
		s.skip()
	}
}

// txUint parses digits as a uint64, failing on overflow.
func txUint(raw []byte) (uint64, bool) {
	var v uint64
	for _, c := range raw {
		d := uint64(c - '0')
		if d > 9 || v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, len(raw) > 0
}

// txFlag is a boolean field.
type txFlag struct {
	st  txState
	val bool
}

func (s *txScan) flag(f *txFlag) {
	if !f.st.see() {
		s.skip()
		return
	}
	switch s.peek() {
	case 't', 'f', 'n':
		switch s.lit() {
		case 't':
			f.val, f.st = true, txSet
		case 'f':
			f.val, f.st = false, txSet
		case 'n':
			f.st = txNull
		}
	default:
		f.st = txBad
		s.skip()
	}
}

// txFloat is a number field.
type txFloat struct {
	st  txState
	val float64
}

func (s *txScan) float(f *txFloat) {
	if !f.st.see() {
		s.skip()
		return
	}
	c := s.peek()
	switch {
	case c == 'n':
		if s.lit() == 'n' {
			f.st = txNull
		} else {
			f.st = txBad
		}
	case c == '-' || (c >= '0' && c <= '9'):
		raw, _ := s.num()
		v, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			f.st = txBad
			return
		}
		f.val, f.st = v, txSet
	default:
		f.st = txBad
		s.skip()
	}
}
