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
	"strings"
	"time"
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

// Error says where the problem is and what it is: "line 4:
// /claude-opus-5-5/input_cost_per_token: …".
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
