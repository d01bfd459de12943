package claude

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/authpool/authpool"
)

// Counts are the tokens of one response, by kind, as Claude reports them.
// CacheWrite5m and CacheWrite1h split the cache writes by time to live (a
// response without the split counts all its writes as 5-minute ones).
type Counts struct {
	Input        int64 `json:"input"`
	Output       int64 `json:"output"`
	CacheWrite5m int64 `json:"cacheWrite5m"`
	CacheWrite1h int64 `json:"cacheWrite1h"`
	CacheRead    int64 `json:"cacheRead"`
	// WebSearches counts server-side web search requests ($10 per 1,000).
	WebSearches int64 `json:"webSearches,omitempty"`
	// Fast is set for fast-mode responses (usage.speed "fast"), billed at a
	// multiple of the model's price.
	Fast bool `json:"fast,omitempty"`
	// Geo is where the response was computed (usage.inference_geo: "us",
	// "global"); a price may cost more in some (Price.Geo).
	Geo string `json:"geo,omitempty"`
}

// Add adds c2 to c (Fast is set if either is; Geo is c's, or c2's if c
// has none).
func (c *Counts) Add(c2 Counts) {
	c.Input += c2.Input
	c.Output += c2.Output
	c.CacheWrite5m += c2.CacheWrite5m
	c.CacheWrite1h += c2.CacheWrite1h
	c.CacheRead += c2.CacheRead
	c.WebSearches += c2.WebSearches
	c.Fast = c.Fast || c2.Fast
	if c.Geo == "" {
		c.Geo = c2.Geo
	}
}

// Tokens returns the counts as the pool keeps them: cache writes together.
func (c Counts) Tokens() authpool.Tokens {
	return authpool.Tokens{Input: c.Input, Output: c.Output, CacheWrite: c.CacheWrite5m + c.CacheWrite1h, CacheRead: c.CacheRead}
}

// Total is every token of every kind.
func (c Counts) Total() int64 {
	return c.Input + c.Output + c.CacheWrite5m + c.CacheWrite1h + c.CacheRead
}

// prompt is the tokens a long-context tier counts: input, cache writes and
// cache reads.
func (c Counts) prompt() int64 {
	return c.Input + c.CacheWrite5m + c.CacheWrite1h + c.CacheRead
}

// Price is a model's price in US dollars per million tokens. A Price from
// a table (Lookup) is a copy: changing it changes no table.
type Price struct {
	Input        float64 `json:"input"`
	Output       float64 `json:"output"`
	CacheWrite5m float64 `json:"cacheWrite5m"`
	CacheWrite1h float64 `json:"cacheWrite1h"`
	CacheRead    float64 `json:"cacheRead"`
	// Tiers are the prices of long prompts, by threshold: a request whose
	// prompt (input, cache writes and cache reads) is over a tier's Above
	// tokens pays that tier's rates, as TierRule says. A price file's
	// <field>_above_<N>k_tokens.
	Tiers []Tier `json:"tiers,omitempty"`
	// FastMultiplier multiplies the cost of a fast-mode response; 0 means
	// the model has no fast mode (its responses cost the normal price). A
	// price file's provider_specific_entry.fast.
	FastMultiplier float64 `json:"fastMultiplier,omitempty"`
	// Geo multiplies the cost of a response computed in a geography, by
	// its usage.inference_geo ("us": 1.1), as TierRule says. A price
	// file's other numeric provider_specific_entry values.
	Geo map[string]float64 `json:"geo,omitempty"`
	// Deprecated is when the model retires (a price file's
	// deprecation_date); zero if it has no date. Retired models are still
	// priced.
	Deprecated time.Time `json:"deprecated,omitzero"`
}

// Tier is the price of a long prompt, in US dollars per million tokens.
type Tier struct {
	// Above is the prompt size, in tokens, past which the tier applies.
	Above        int64   `json:"above"`
	Input        float64 `json:"input"`
	Output       float64 `json:"output"`
	CacheWrite5m float64 `json:"cacheWrite5m"`
	CacheWrite1h float64 `json:"cacheWrite1h"`
	CacheRead    float64 `json:"cacheRead"`
}

// LongContextTokens is where Claude Sonnet 4 and 4.5's long-context tier
// starts, which Claude Code does not apply (ClaudeCode).
const LongContextTokens = 200_000

// WebSearchUSD is the price of one server-side web search request.
const WebSearchUSD = 0.01

// Bounds on a Price: a rate above MaxRate US dollars per million tokens (a
// dollar a token) or a multiplier above MaxMultiplier is refused.
const (
	MaxRate       = 1e6
	MaxMultiplier = 1000
)

// TierRule says how a price's tiers and geography multipliers apply to a
// response. The three sources of a cost — Anthropic's bill, Claude Code's
// own estimate (total_cost_usd) and ccusage's reports — differ here; see
// docs/prices.md.
type TierRule uint8

const (
	// PerRequest is how Anthropic bills, and the default: a request whose
	// prompt (input, cache writes and cache reads together) is over a
	// tier's threshold pays the highest such tier's rates for every kind of
	// token; the Geo multiplier of the response's usage.inference_geo
	// applies.
	PerRequest TierRule = iota
	// PerKind is how ccusage computes: each kind of token on its own, the
	// tokens up to a tier's threshold at the rate below it, the rest at the
	// tier's rate; no Geo multiplier. Transcript reports use it to agree
	// with ccusage.
	PerKind
	// NoTier prices every token at the base rate: no tier, no Geo
	// multiplier.
	NoTier
	// ClaudeCode is how Claude Code computes its own total_cost_usd: as
	// PerRequest, but without the tier at LongContextTokens (Claude Code
	// 2.1.332 does not apply Sonnet 4 and 4.5's 200k tier; it does apply
	// others, such as Claude Haiku 5.5's at 100,000).
	ClaudeCode
)

// String names the rule.
func (r TierRule) String() string {
	switch r {
	case PerRequest:
		return "per request"
	case PerKind:
		return "per kind"
	case NoTier:
		return "no tier"
	case ClaudeCode:
		return "Claude Code"
	}
	return fmt.Sprintf("TierRule(%d)", uint8(r))
}

// ErrUnknownModel: no price for the model, and no Fallback price.
var ErrUnknownModel = errors.New("claude: no price for the model")

// check refuses negative, NaN, infinite or too large rates and
// multipliers, and tiers out of order.
func (pr *Price) check() error {
	rate := func(what string, v float64) error {
		if math.IsNaN(v) || v < 0 || v > MaxRate {
			return fmt.Errorf("%s %v is not a price: it must be 0 to %g US dollars per million tokens", what, v, float64(MaxRate))
		}
		return nil
	}
	multiplier := func(what string, v float64, zero bool) error {
		if math.IsNaN(v) || v < 0 || v == 0 && !zero || v > MaxMultiplier {
			return fmt.Errorf("%s %v is not a multiplier: it must be above 0 and at most %d", what, v, MaxMultiplier)
		}
		return nil
	}
	errs := []error{
		rate("input", pr.Input), rate("output", pr.Output), rate("cacheWrite5m", pr.CacheWrite5m),
		rate("cacheWrite1h", pr.CacheWrite1h), rate("cacheRead", pr.CacheRead),
		multiplier("fastMultiplier", pr.FastMultiplier, true),
	}
	for _, g := range slices.Sorted(maps.Keys(pr.Geo)) {
		errs = append(errs, multiplier(fmt.Sprintf("geo %q", g), pr.Geo[g], false))
	}
	for i, t := range pr.Tiers {
		w := fmt.Sprintf("tier %d", i)
		errs = append(errs, rate(w+" input", t.Input), rate(w+" output", t.Output), rate(w+" cacheWrite5m", t.CacheWrite5m),
			rate(w+" cacheWrite1h", t.CacheWrite1h), rate(w+" cacheRead", t.CacheRead))
		switch {
		case t.Above <= 0:
			errs = append(errs, fmt.Errorf("%s: above %d: a threshold is a positive number of tokens", w, t.Above))
		case i > 0 && t.Above <= pr.Tiers[i-1].Above:
			errs = append(errs, fmt.Errorf("%s: above %d: tiers must be in increasing order of threshold", w, t.Above))
		}
	}
	return errors.Join(errs...)
}

// clone returns a copy of pr that shares no memory with it.
func (pr Price) clone() Price {
	pr.Tiers = slices.Clone(pr.Tiers)
	pr.Geo = maps.Clone(pr.Geo)
	return pr
}

// Cost returns what a response with the counts costs at this price, in US
// dollars, with tiers and Geo applied as rule says; fast mode (c.Fast)
// multiplies it by FastMultiplier, and each web search adds WebSearchUSD.
func (pr Price) Cost(c Counts, rule TierRule) float64 {
	var usd float64
	switch rule {
	case PerKind:
		usd = pr.perKind(c)
	case NoTier:
		usd = pr.flat(c, -1)
	default: // PerRequest, ClaudeCode
		tier, prompt := -1, c.prompt()
		for i, t := range pr.Tiers {
			if prompt > t.Above && !(rule == ClaudeCode && t.Above == LongContextTokens) {
				tier = i
			}
		}
		usd = pr.flat(c, tier)
		if c.Geo != "" {
			if m, ok := pr.Geo[c.Geo]; ok {
				usd *= m
			}
		}
	}
	if c.Fast && pr.FastMultiplier > 0 {
		usd *= pr.FastMultiplier
	}
	return usd + float64(c.WebSearches)*WebSearchUSD
}

// rates returns the rates of tier i, or the base rates for -1: input,
// output, cache write 5m, cache write 1h, cache read.
func (pr *Price) rates(i int) [5]float64 {
	if i < 0 {
		return [5]float64{pr.Input, pr.Output, pr.CacheWrite5m, pr.CacheWrite1h, pr.CacheRead}
	}
	t := &pr.Tiers[i]
	return [5]float64{t.Input, t.Output, t.CacheWrite5m, t.CacheWrite1h, t.CacheRead}
}

// flat is the cost of the counts at the rates of tier i (-1: the base).
func (pr *Price) flat(c Counts, i int) float64 {
	r := pr.rates(i)
	return (float64(c.Input)*r[0] + float64(c.Output)*r[1] + float64(c.CacheWrite5m)*r[2] +
		float64(c.CacheWrite1h)*r[3] + float64(c.CacheRead)*r[4]) / 1e6
}

// perKind prices each kind of token in bands: up to the first tier's
// threshold at the base rate, then at each tier's rate up to the next.
func (pr *Price) perKind(c Counts) float64 {
	n := [5]int64{c.Input, c.Output, c.CacheWrite5m, c.CacheWrite1h, c.CacheRead}
	var usd float64
	for k, tokens := range n {
		from := int64(0)
		for i := -1; i < len(pr.Tiers) && tokens > from; i++ {
			to := tokens
			if i+1 < len(pr.Tiers) {
				to = min(tokens, pr.Tiers[i+1].Above)
			}
			usd += float64(to-from) * pr.rates(i)[k]
			from = to
		}
	}
	return usd / 1e6
}
