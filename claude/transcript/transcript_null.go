package transcript

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math/bits"
	"slices"
)

// This file holds ccusage 20.0.24's rule for a usage line that holds the
// four bytes "null" anywhere (in a value, a key or inside a string), as
// real Claude Code lines almost always do ("stop_sequence":null,
// "parentUuid":null). Such a line is first read strictly, as a whole, and
// both of ccusage's readers drop it when
//
//   - any string (a value or a key, read or not) holds invalid UTF-8 or a
//     lone surrogate escape, containers nest deeper than 127, or a number
//     is out of float range (what the daily reader refuses in any line);
//   - any object, at any depth, names a member twice (the names compared
//     decoded);
//   - a member named id, cwd, model, speed, costUSD, version, sessionId,
//     requestId, isApiErrorMessage, cache_read_input_tokens or
//     cache_creation_input_tokens is null, at any depth, whatever the
//     spacing, except model in an element of message.usage.iterations or
//     data.message.message.usage.iterations (Claude Code writes
//     "model":null there).
//
// A line without "null" is read as before: the entry reader checks the
// fields it reads and only the syntax of the rest. The scanner
// (transcript_json.go) calls the methods here as it walks the line, so the
// rule costs no second pass; the names of the open objects' members are
// kept in reused buffers, so it allocates nothing per line.
//
// The rule is ccusage's behaviour, measured on its 20.0.24 binary with
// lines made for each case (testdata/ccusage/badlines and
// TestTranscriptLineRules); its published source
// (github.com/ccusage/ccusage, rust/adapters/claude/src/lib.rs) shows the
// fields' list and the iterations exemption in its byte-level
// has_unsupported_null_field, not the strict reading.

// txNullMarker is what makes ccusage read a line strictly.
var txNullMarker = []byte("null")

// txNullCheck is the state of the null rule for one line.
type txNullCheck struct {
	// on says the line holds "null": the rule applies. The scanner notes
	// what the rule needs in every line, and learns whether it applies at
	// the end (usually at once: at the first null value it reads).
	on bool
	// field is the first member found null that ccusage refuses to see
	// null, "" if none.
	field string
	// repeated is set when an object names a member twice.
	repeated bool
	// iterations is set while the scanner skips message.usage.iterations.
	iterations bool
	names      []txName // the open objects' members, innermost last
	opens      []int32  // where each open object's members start in names
	order      []txName // scratch for checking a large object
	buf1, buf2 []byte   // scratch for decoding names with escapes
}

// txName is a member name: its raw text in the line, and a fingerprint of
// its decoded text (equal names have equal fingerprints).
type txName struct {
	off, n int
	esc    bool
	fp     uint64
}

func (c *txNullCheck) reset() {
	c.on, c.field, c.repeated, c.iterations = false, "", false, false
	c.names, c.opens = c.names[:0], c.opens[:0]
}

// txNullable returns name when ccusage refuses to see that member null,
// and "" otherwise.
func txNullable(name []byte) string {
	switch string(name) {
	case "id":
		return "id"
	case "cwd":
		return "cwd"
	case "model":
		return "model"
	case "speed":
		return "speed"
	case "costUSD":
		return "costUSD"
	case "version":
		return "version"
	case "sessionId":
		return "sessionId"
	case "requestId":
		return "requestId"
	case "isApiErrorMessage":
		return "isApiErrorMessage"
	case "cache_read_input_tokens":
		return "cache_read_input_tokens"
	case "cache_creation_input_tokens":
		return "cache_creation_input_tokens"
	}
	return ""
}

// nullMember notes a member whose value is null; name is decoded. exempt
// says the member is directly in an element of usage.iterations.
func (s *txScan) nullMember(name []byte, exempt bool) {
	if s.null.field != "" || (exempt && string(name) == "model") {
		return
	}
	s.null.field = txNullable(name)
}

// openObject starts an object with members.
func (s *txScan) openObject() {
	s.null.opens = append(s.null.opens, int32(len(s.null.names)))
}

// member notes a member name of the innermost open object: its text is
// s.b[off:off+n], decoded that text with escapes decoded.
func (s *txScan) member(off, n int, decoded []byte, esc bool) {
	s.null.names = append(s.null.names, txName{off: off, n: n, esc: esc, fp: txFingerprint(decoded)})
}

// closeObject ends the innermost object, checking that no name is given
// twice in it.
func (s *txScan) closeObject() {
	c := &s.null
	if len(c.opens) == 0 {
		return
	}
	top := c.opens[len(c.opens)-1]
	c.opens = c.opens[:len(c.opens)-1]
	if !c.repeated && s.repeats(c.names[top:]) {
		c.repeated = true
	}
	c.names = c.names[:top]
}

// repeats reports whether two of names are the same: pairwise for the
// usual small object, by sorted fingerprints for a large one.
func (s *txScan) repeats(names []txName) bool {
	if len(names) <= 24 {
		for i := 1; i < len(names); i++ {
			for j := range i {
				if names[i].fp == names[j].fp && s.sameName(names[i], names[j]) {
					return true
				}
			}
		}
		return false
	}
	order := append(s.null.order[:0], names...)
	s.null.order = order
	slices.SortFunc(order, func(a, b txName) int { return cmp.Compare(a.fp, b.fp) })
	for i := 1; i < len(order); i++ {
		for j := i - 1; j >= 0 && order[j].fp == order[i].fp; j-- {
			if s.sameName(order[i], order[j]) {
				return true
			}
		}
	}
	return false
}

// sameName reports whether two names are the same once decoded.
func (s *txScan) sameName(a, b txName) bool {
	ra, rb := s.b[a.off:a.off+a.n], s.b[b.off:b.off+b.n]
	if !a.esc && !b.esc {
		return bytes.Equal(ra, rb)
	}
	s.null.buf1 = txDecoded(s.null.buf1[:0], ra, a.esc)
	s.null.buf2 = txDecoded(s.null.buf2[:0], rb, b.esc)
	return bytes.Equal(s.null.buf1, s.null.buf2)
}

func txDecoded(dst, raw []byte, esc bool) []byte {
	if esc {
		return txUnescape(dst, raw)
	}
	return append(dst, raw...)
}

// txFingerprint mixes a name's length and its first and last eight bytes.
func txFingerprint(b []byte) uint64 {
	var h uint64
	if n := len(b); n >= 8 {
		h = binary.LittleEndian.Uint64(b) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(b[n-8:]), 29)
	} else {
		for _, c := range b {
			h = h<<8 | uint64(c)
		}
	}
	return (h ^ uint64(len(b))<<58) * 0x9e3779b97f4a7c15
}
