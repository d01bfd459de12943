// Package pricefile reads model prices in the shape of LiteLLM's
// model_prices_and_context_window.json (https://github.com/BerriAI/litellm),
// the file ccusage and LiteLLM users keep: a JSON object keyed by model id,
// each entry giving prices per token in US dollars. It reads the entries of
// Claude models and the fields that price them, and checks every value it
// reads; everything else in the file is skipped unread, so LiteLLM's whole
// file can be given. Package claude builds its price tables from it, and
// package authpool checks the price file a config names.
package pricefile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxSize is the largest price file Parse reads, in bytes. LiteLLM's whole
// file is about 2 MB.
const MaxSize = 64 << 20

// Bounds on the values of an entry: a price above MaxPrice (a dollar a
// token, 13,000 times Claude's dearest) or a multiplier above
// MaxMultiplier is a mistake, and would let a cost overflow.
const (
	MaxPrice      = 1.0
	MaxMultiplier = 1000.0
	// MaxTierK is the largest tier threshold, in thousands of tokens.
	MaxTierK = 1_000_000
)

// The fields of an entry that price tokens; a tier's are these names with
// "_above_<N>k_tokens" after them.
const (
	FieldInput        = "input_cost_per_token"
	FieldOutput       = "output_cost_per_token"
	FieldCacheWrite5m = "cache_creation_input_token_cost"
	FieldCacheWrite1h = "cache_creation_input_token_cost_above_1hr"
	FieldCacheRead    = "cache_read_input_token_cost"
	FieldProvider     = "provider_specific_entry"
	FieldDeprecation  = "deprecation_date"
	// FieldFast is the key of provider_specific_entry that multiplies a
	// fast-mode response's cost; its other numeric keys are multipliers by
	// usage.inference_geo.
	FieldFast = "fast"
)

// Default ratios of the cache prices an entry leaves out, to its input
// price, as ccusage and Anthropic's list prices have them.
const (
	DefaultCacheWrite5m = 1.25
	DefaultCacheWrite1h = 2
	DefaultCacheRead    = 0.1
)

// Rates are prices per token in US dollars, by kind.
type Rates struct {
	Input, Output, CacheWrite5m, CacheWrite1h, CacheRead float64
}

// Tier is a price that applies past a number of prompt tokens.
type Tier struct {
	// Above is the threshold in tokens (N×1000 of "_above_<N>k_tokens").
	Above int64
	Rates
}

// Entry is one model's prices, every rate filled in: a cache price the
// file leaves out is the default ratio of its input price (a tier's of the
// tier's input price, if the tier gives one, else the base rate).
type Entry struct {
	// Key is the model id as the file writes it; Line is where.
	Key  string
	Line int
	Rates
	// Tiers are the long-context tiers, by threshold ascending.
	Tiers []Tier
	// Fast is provider_specific_entry.fast, 0 when absent.
	Fast float64
	// Geo are the other numeric values of provider_specific_entry, by key
	// lowercased: multipliers by usage.inference_geo ("us": 1.1).
	Geo map[string]float64
	// Deprecation is deprecation_date; zero when absent.
	Deprecation time.Time
}

// Error is a problem in a price file: the value's JSON pointer
// (/claude-opus-5-5/input_cost_per_token; "" for the whole file), its line
// (0 when unknown) and what is wrong.
type Error struct {
	Pointer string
	Line    int
	Msg     string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Pointer != "" {
		b.WriteString(e.Pointer + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// IsClaude reports whether an entry's key names a Claude model: whether
// it holds "claude", in any case. Parse reads only those.
func IsClaude(key string) bool {
	return strings.Contains(strings.ToLower(key), "claude")
}

// Parse reads a price file: a JSON object of entries keyed by model id. It
// returns the entries of Claude models (IsClaude) that price tokens (give
// input_cost_per_token or output_cost_per_token; an entry giving one must
// give both), in the file's order. Keys of other models, the sample_spec
// pseudo-entry and every field other than the prices, their tiers,
// provider_specific_entry and deprecation_date are skipped.
//
// A file that is not JSON, a price that is not a number, negative or above
// MaxPrice, a multiplier that is not positive or above MaxMultiplier, a
// date that is not YYYY-MM-DD, a field given twice and a model given twice
// (ignoring case) are errors of type *Error naming the value and its line.
func Parse(r io.Reader) ([]Entry, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxSize {
		return nil, &Error{Msg: fmt.Sprintf("larger than %d MiB", MaxSize>>20)}
	}
	p := parser{data: data, lines: lineCounter{data: data, line: 1}}
	return p.file()
}

type parser struct {
	data  []byte
	lines lineCounter
}

// syntax turns a decoder's error into an *Error with the line it happened on.
func (p *parser) syntax(err error, base int64) error {
	var se *json.SyntaxError
	off := base
	if errors.As(err, &se) {
		off += max(se.Offset-1, 0)
	}
	msg := err.Error()
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		msg, off = "unexpected end of JSON input", int64(len(p.data))
	}
	return &Error{Line: p.lines.at(off), Msg: "not JSON: " + msg}
}

func (p *parser) file() ([]Entry, error) {
	dec := json.NewDecoder(bytes.NewReader(p.data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, p.syntax(err, 0)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &Error{Line: p.lines.at(dec.InputOffset() - 1), Msg: "not a JSON object of models"}
	}
	var out []Entry
	seen := make(map[string]int) // lowercased key -> line
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, p.syntax(err, 0)
		}
		key := tok.(string) // an object's keys are strings
		line := p.lines.at(dec.InputOffset() - 1)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, p.syntax(err, 0)
		}
		if !IsClaude(key) {
			continue
		}
		ptr := "/" + escape(key)
		if first, dup := seen[strings.ToLower(key)]; dup {
			return nil, &Error{Pointer: ptr, Line: line, Msg: fmt.Sprintf("the model is given twice (first on line %d)", first)}
		}
		seen[strings.ToLower(key)] = line
		e, ok, err := p.entry(key, ptr, line, raw, dec.InputOffset()-int64(len(raw)))
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, e)
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, p.syntax(err, 0)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &Error{Line: p.lines.at(dec.InputOffset()), Msg: "not JSON: text after the object"}
	}
	return out, nil
}

// fields are the values an entry gives; nil when absent (or null).
type fields struct {
	base  [5]*float64
	tiers map[int64]*[5]*float64
	prov  map[string]float64
	depr  time.Time
}

// kinds are the fields of a Rates, in order.
var kinds = [5]string{FieldInput, FieldOutput, FieldCacheWrite5m, FieldCacheWrite1h, FieldCacheRead}

// entry reads one model's entry, raw, found at offset off. It reports
// false for an entry that prices no tokens.
func (p *parser) entry(key, ptr string, line int, raw json.RawMessage, off int64) (Entry, bool, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return Entry{}, false, p.syntax(err, off)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		if tok == nil {
			return Entry{}, false, nil // null: no entry
		}
		return Entry{}, false, &Error{Pointer: ptr, Line: line, Msg: "not a JSON object"}
	}
	var f fields
	given := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Entry{}, false, p.syntax(err, off)
		}
		name := tok.(string)
		at := &Error{Pointer: ptr + "/" + escape(name), Line: p.lines.at(off + dec.InputOffset() - 1)}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return Entry{}, false, p.syntax(err, off)
		}
		if given[name] {
			at.Msg = "given twice"
			return Entry{}, false, at
		}
		given[name] = true
		if err := f.read(name, v, at); err != nil {
			return Entry{}, false, err
		}
	}
	in, out := f.base[0], f.base[1]
	switch {
	case in == nil && out == nil:
		return Entry{}, false, nil
	case in == nil:
		return Entry{}, false, &Error{Pointer: ptr, Line: line, Msg: "has " + FieldOutput + " but no " + FieldInput}
	case out == nil:
		return Entry{}, false, &Error{Pointer: ptr, Line: line, Msg: "has " + FieldInput + " but no " + FieldOutput}
	}
	e := Entry{Key: key, Line: line, Rates: fill(f.base, Rates{}, false), Deprecation: f.depr}
	for _, above := range slices.Sorted(maps.Keys(f.tiers)) {
		e.Tiers = append(e.Tiers, Tier{Above: above, Rates: fill(*f.tiers[above], e.Rates, true)})
	}
	if v, ok := f.prov[FieldFast]; ok {
		e.Fast = v
		delete(f.prov, FieldFast)
	}
	if len(f.prov) > 0 {
		e.Geo = f.prov
	}
	return e, true, nil
}

// fill returns the rates given, the others filled in: for the base (tier
// false), input and output are given and the cache prices default to their
// ratios of input; for a tier, a rate not given is base's, or, for a cache
// price of a tier that gives its input price, its ratio of that.
func fill(given [5]*float64, base Rates, tier bool) Rates {
	get := func(i int, dflt float64) float64 {
		if given[i] != nil {
			return *given[i]
		}
		return dflt
	}
	in := get(0, base.Input)
	r := Rates{Input: in, Output: get(1, base.Output)}
	if !tier || given[0] != nil {
		r.CacheWrite5m = get(2, in*DefaultCacheWrite5m)
		r.CacheWrite1h = get(3, in*DefaultCacheWrite1h)
		r.CacheRead = get(4, in*DefaultCacheRead)
	} else {
		r.CacheWrite5m, r.CacheWrite1h, r.CacheRead = get(2, base.CacheWrite5m), get(3, base.CacheWrite1h), get(4, base.CacheRead)
	}
	return r
}

// read takes one field of an entry; at names it for errors.
func (f *fields) read(name string, v json.RawMessage, at *Error) error {
	if i := slices.Index(kinds[:], name); i >= 0 {
		return price(v, at, &f.base[i])
	}
	if base, above, ok := tierField(name); ok {
		i := slices.Index(kinds[:], base)
		if i < 0 {
			return nil // the tier of a field we do not read
		}
		if above <= 0 {
			at.Msg = fmt.Sprintf("a tier's threshold must be 1k to %dk tokens", MaxTierK)
			return at
		}
		if f.tiers == nil {
			f.tiers = make(map[int64]*[5]*float64)
		}
		t := f.tiers[above]
		if t == nil {
			t = new([5]*float64)
		}
		if err := price(v, at, &t[i]); err != nil {
			return err
		}
		if t[i] != nil {
			f.tiers[above] = t
		}
		return nil
	}
	switch name {
	case FieldProvider:
		return f.provider(v, at)
	case FieldDeprecation:
		var s *string
		if err := json.Unmarshal(v, &s); err != nil {
			at.Msg = fmt.Sprintf("%s is not a date (YYYY-MM-DD)", clip(v))
			return at
		}
		if s == nil {
			return nil
		}
		d, err := time.Parse(time.DateOnly, *s)
		if err != nil {
			at.Msg = fmt.Sprintf("%q is not a date (YYYY-MM-DD)", *s)
			return at
		}
		f.depr = d
	}
	return nil
}

// provider reads provider_specific_entry: its numeric values are
// multipliers; values of other types are someone else's and skipped.
func (f *fields) provider(v json.RawMessage, at *Error) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(v, &m); err != nil {
		at.Msg = fmt.Sprintf("%s is not a JSON object", clip(v))
		return at
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		raw := bytes.TrimSpace(m[k])
		if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
			continue // not a number: not a multiplier
		}
		kat := &Error{Pointer: at.Pointer + "/" + escape(k), Line: at.Line}
		x, err := number(raw, kat)
		if err != nil {
			return err
		}
		if x <= 0 || x > MaxMultiplier {
			kat.Msg = fmt.Sprintf("%s is not a multiplier: it must be above 0 and at most %g", raw, MaxMultiplier)
			return kat
		}
		lk := strings.ToLower(k)
		if _, dup := f.prov[lk]; dup {
			kat.Msg = "given twice (ignoring case)"
			return kat
		}
		if f.prov == nil {
			f.prov = make(map[string]float64)
		}
		f.prov[lk] = x
	}
	return nil
}

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
