package pricefile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file reads the single values of a price file (prices, numbers, tier
// names) and places errors: JSON pointers, clipped values and line numbers.

// price reads a price per token into *dst; null leaves it nil.
func price(v json.RawMessage, at *Error, dst **float64) error {
	if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return nil
	}
	x, err := number(v, at)
	if err != nil {
		return err
	}
	switch {
	case x < 0:
		at.Msg = fmt.Sprintf("%s is negative", clip(v))
		return at
	case x > MaxPrice:
		at.Msg = fmt.Sprintf("%s is more than %g US dollars a token", clip(v), MaxPrice)
		return at
	}
	*dst = &x
	return nil
}

// number reads a finite JSON number.
func number(v json.RawMessage, at *Error) (float64, error) {
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	// json.Number takes a string holding a number too: not here.
	if t := bytes.TrimSpace(v); len(t) == 0 || t[0] == '"' || dec.Decode(&n) != nil {
		at.Msg = fmt.Sprintf("%s is not a number", clip(v))
		return 0, at
	}
	x, err := strconv.ParseFloat(n.String(), 64)
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
		at.Msg = fmt.Sprintf("%s is not a finite number", clip(v))
		return 0, at
	}
	return x, nil
}

// tierField splits "<base>_above_<N>k_tokens" into base and N×1000.
func tierField(name string) (base string, above int64, ok bool) {
	rest, found := strings.CutSuffix(name, "k_tokens")
	if !found {
		return "", 0, false
	}
	i := strings.LastIndex(rest, "_above_")
	if i < 0 {
		return "", 0, false
	}
	digits := rest[i+len("_above_"):]
	if digits == "" || len(digits) > 7 || strings.Trim(digits, "0123456789") != "" {
		return "", 0, false
	}
	n, _ := strconv.ParseInt(digits, 10, 64)
	if n > MaxTierK {
		n = 0 // out of range: refused by the caller
	}
	return rest[:i], n * 1000, true
}

// escape escapes a key as a JSON pointer token (RFC 6901).
func escape(key string) string {
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}

// clip returns a JSON value for a message: on one line, at most 40 bytes
// of it.
func clip(v json.RawMessage) string {
	s := strings.Join(strings.Fields(string(v)), " ")
	if len(s) > 40 {
		cut := 40
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

// lineCounter finds the line of a byte offset, counting forward from the
// last offset asked about (offsets mostly grow as the file is read).
type lineCounter struct {
	data []byte
	off  int64
	line int
}

// at returns the 1-based line of data[off].
func (l *lineCounter) at(off int64) int {
	off = min(max(off, 0), int64(len(l.data)))
	if off < l.off {
		l.off, l.line = 0, 1
	}
	l.line += bytes.Count(l.data[l.off:off], []byte{'\n'})
	l.off = off
	return l.line
}
