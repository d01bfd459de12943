package store

import (
	"fmt"
	"log/slog"
	"math"
)

// This file holds the values records are made of: a redacted credential,
// an amount of money and counts of tokens.

// Secret is a credential: an API key or an OAuth token. Its String, GoString,
// JSON, text and slog forms are redacted, so a Secret that reaches a log line,
// an error or a JSON document shows as [REDACTED]. Reveal returns the value
// for the one place that needs it: the request sent upstream.
type Secret string

const redacted = "[REDACTED]"

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String returns "[REDACTED]" (or "" when the secret is empty).
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString returns the redacted form, so %#v does not show the secret.
func (s Secret) GoString() string { return fmt.Sprintf("store.Secret(%q)", s.String()) }

// Format writes the redacted form for every fmt verb.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(s.GoString()))
		return
	}
	_, _ = f.Write([]byte(s.String()))
}

// MarshalText returns the redacted form; it is also what encoding/json writes.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue makes log/slog print the redacted form.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Nanodollars is an amount of money in billionths of a US dollar. Costs are
// kept as integers so that sums are exact and a window's total is the same
// whichever order its usages arrived in.
type Nanodollars int64

// MaxUSD is the largest amount FromUSD accepts: a million dollars, far above
// any single request and far below where int64 nanodollars overflow.
const MaxUSD = 1e6

// FromUSD converts dollars to Nanodollars, rounding to the nearest
// nanodollar. It refuses NaN, infinities, negative amounts and amounts above
// MaxUSD.
func FromUSD(usd float64) (Nanodollars, error) {
	switch {
	case math.IsNaN(usd):
		return 0, fmt.Errorf("amount is NaN")
	case math.IsInf(usd, 0):
		return 0, fmt.Errorf("amount %v is infinite", usd)
	case usd < 0:
		return 0, fmt.Errorf("amount %v is negative", usd)
	case usd > MaxUSD:
		return 0, fmt.Errorf("amount %v is above the maximum of %v", usd, float64(MaxUSD))
	}
	return Nanodollars(math.Round(usd * 1e9)), nil
}

// USD returns the amount in dollars.
func (n Nanodollars) USD() float64 { return float64(n) / 1e9 }

// Tokens counts the tokens of one request or of many added together.
type Tokens struct {
	Input      int64 `json:"input"`
	Output     int64 `json:"output"`
	CacheWrite int64 `json:"cacheWrite"`
	CacheRead  int64 `json:"cacheRead"`
}

// Add adds u to t.
func (t *Tokens) Add(u Tokens) {
	t.Input += u.Input
	t.Output += u.Output
	t.CacheWrite += u.CacheWrite
	t.CacheRead += u.CacheRead
}

// Total is the sum of all four kinds.
func (t Tokens) Total() int64 { return t.Input + t.Output + t.CacheWrite + t.CacheRead }
