package pricefile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// This file reads one model's entry: its price fields, their tiers and
// provider multipliers, and fills in the cache prices it leaves out.

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
