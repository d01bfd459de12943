package claude

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"

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
}

// Add adds c2 to c (Fast is set if either is).
func (c *Counts) Add(c2 Counts) {
	c.Input += c2.Input
	c.Output += c2.Output
	c.CacheWrite5m += c2.CacheWrite5m
	c.CacheWrite1h += c2.CacheWrite1h
	c.CacheRead += c2.CacheRead
	c.WebSearches += c2.WebSearches
	c.Fast = c.Fast || c2.Fast
}

// Tokens returns the counts as the pool keeps them: cache writes together.
func (c Counts) Tokens() authpool.Tokens {
	return authpool.Tokens{Input: c.Input, Output: c.Output, CacheWrite: c.CacheWrite5m + c.CacheWrite1h, CacheRead: c.CacheRead}
}

// Total is every token of every kind.
func (c Counts) Total() int64 {
	return c.Input + c.Output + c.CacheWrite5m + c.CacheWrite1h + c.CacheRead
}

// Price is a model's price in US dollars per million tokens.
type Price struct {
	Input        float64 `json:"input"`
	Output       float64 `json:"output"`
	CacheWrite5m float64 `json:"cacheWrite5m"`
	CacheWrite1h float64 `json:"cacheWrite1h"`
	CacheRead    float64 `json:"cacheRead"`
	// LongContext, when set, is the price past 200,000 tokens of context
	// (see TierRule).
	LongContext *Price `json:"longContext,omitempty"`
	// FastMultiplier multiplies the cost of a fast-mode response; 0 means
	// the model has no fast mode (its responses cost the normal price).
	FastMultiplier float64 `json:"fastMultiplier,omitempty"`
}

// LongContextTokens is where the long-context tier starts.
const LongContextTokens = 200_000

// WebSearchUSD is the price of one server-side web search request.
const WebSearchUSD = 0.01

// TierRule says how a long-context tier applies to a response.
type TierRule uint8

const (
	// PerRequest prices every token of a response at the long-context rates
	// when its input (input, cache writes and cache reads together) is over
	// 200,000 tokens: how Anthropic bills. The default.
	PerRequest TierRule = iota
	// PerKind prices each kind of token separately: the first 200,000 at the
	// base rate, the rest at the long-context rate. How ccusage 20 computes
	// (FORMATS.md §5); transcript reports use it to agree with ccusage.
	PerKind
	// NoTier ignores long-context rates: how Claude Code estimates its own
	// total_cost_usd.
	NoTier
)

// ErrUnknownModel: no price for the model, and no Fallback price.
var ErrUnknownModel = errors.New("claude: no price for the model")

// Prices is a table of model prices. Model names match exactly, or without
// their date or provider (claude-opus-4-5-20251101, anthropic/claude-opus-4-5
// and claude-opus-4-5 all match claude-opus-4-5): the longest known name that
// the model's name contains at a '-', '/', ':' or '@' boundary, as ccusage
// matches, unless a minor version follows it (claude-opus-4-9 is not
// claude-opus-4); else the known names that contain the model's name
// (sonnet-4-5), if they all have the same price. It is safe for concurrent
// use; Set may be called while others price, and it shares no memory with
// its callers.
type Prices struct {
	mu     sync.RWMutex
	models map[string]Price
	// fallback prices models the table does not know; nil makes them an
	// error (ErrUnknownModel).
	fallback *Price
}

// DefaultPrices returns the built-in price table: current Claude models,
// list prices in USD per million tokens. Unknown models are an error until
// SetFallback is called.
//
// Source: Anthropic's published list prices as measured from ccusage 20.0.24
// (--offline --mode calculate) and identical to Claude Code 2.1.197's
// built-in table, recorded in FORMATS.md §5, November 2026. Cache writes are
// 1.25× input for 5 minutes and 2× input for 1 hour; cache reads 0.1× input.
func DefaultPrices() *Prices {
	opus45 := Price{Input: 5, Output: 25, CacheWrite5m: 6.25, CacheWrite1h: 10, CacheRead: 0.5}
	opus4 := Price{Input: 15, Output: 75, CacheWrite5m: 18.75, CacheWrite1h: 30, CacheRead: 1.5}
	sonnet := Price{Input: 3, Output: 15, CacheWrite5m: 3.75, CacheWrite1h: 6, CacheRead: 0.3}
	sonnetLong := sonnet
	sonnetLong.LongContext = &Price{Input: 6, Output: 22.5, CacheWrite5m: 7.5, CacheWrite1h: 12, CacheRead: 0.6}
	with := func(p Price, fast float64) Price { p.FastMultiplier = fast; return p }
	return &Prices{models: map[string]Price{
		"claude-opus-4-8":   with(opus45, 2), // fast mode $10/$50
		"claude-opus-4-7":   with(opus45, 6), // fast mode $30/$150
		"claude-opus-4-6":   with(opus45, 6),
		"claude-opus-4-5":   opus45,
		"claude-opus-4-1":   opus4,
		"claude-opus-4":     opus4,
		"claude-3-opus":     opus4,
		"claude-sonnet-4-6": sonnet, // 1M context at the flat price
		"claude-sonnet-4-5": sonnetLong,
		"claude-sonnet-4":   sonnetLong,
		"claude-3-7-sonnet": sonnet,
		"claude-3-5-sonnet": sonnet,
		"claude-haiku-4-5":  {Input: 1, Output: 5, CacheWrite5m: 1.25, CacheWrite1h: 2, CacheRead: 0.1},
		"claude-3-5-haiku":  {Input: 0.8, Output: 4, CacheWrite5m: 1, CacheWrite1h: 1.6, CacheRead: 0.08},
		"claude-3-haiku":    {Input: 0.25, Output: 1.25, CacheWrite5m: 0.3, CacheWrite1h: 0.5, CacheRead: 0.03},
		"claude-mythos-5":   {Input: 10, Output: 50, CacheWrite5m: 12.5, CacheWrite1h: 20, CacheRead: 1},
		"claude-fable-5":    {Input: 10, Output: 50, CacheWrite5m: 12.5, CacheWrite1h: 20, CacheRead: 1}, // Fable 5 is Mythos 5
	}}
}

// Set adds or replaces a model's price. The name is matched as Lookup
// describes.
func (p *Prices) Set(model string, price Price) error {
	if err := price.check(); err != nil {
		return fmt.Errorf("claude: price of %q: %w", model, err)
	}
	key := normalizeModel(model)
	if key == "" {
		return errors.New("claude: a price needs a model name")
	}
	price = price.clone()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.models == nil {
		p.models = make(map[string]Price)
	}
	p.models[key] = price
	return nil
}

// SetFallback sets the price of models the table does not know; nil makes
// them an error again.
func (p *Prices) SetFallback(price *Price) error {
	if price != nil {
		if err := price.check(); err != nil {
			return fmt.Errorf("claude: fallback price: %w", err)
		}
		c := price.clone()
		price = &c
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fallback = price
	return nil
}

// check refuses negative, NaN or infinite prices.
func (pr Price) check() error {
	for _, v := range []float64{pr.Input, pr.Output, pr.CacheWrite5m, pr.CacheWrite1h, pr.CacheRead, pr.FastMultiplier} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return fmt.Errorf("%v is not a price", v)
		}
	}
	if pr.LongContext != nil {
		if pr.LongContext.LongContext != nil {
			return errors.New("a long-context price has no tier of its own")
		}
		return pr.LongContext.check()
	}
	return nil
}

// Lookup returns the price of a model and whether the table knows it (the
// fallback price does not count as known).
func (p *Prices) Lookup(model string) (Price, bool) {
	p.mu.RLock()
	pr, ok := p.lookup(normalizeModel(model))
	p.mu.RUnlock()
	return pr.clone(), ok
}

// lookup finds the price of a normalized name as Prices describes, the same
// whatever the map's order; p.mu is held. The Price shares the table's
// LongContext.
func (p *Prices) lookup(name string) (Price, bool) {
	if pr, ok := p.models[name]; ok {
		return pr, true
	}
	best := ""
	for key := range p.models {
		if (len(key) > len(best) || len(key) == len(best) && key < best) && containsAtBoundary(name, key) && !minorVersionAt(name, key) {
			best = key
		}
	}
	if best != "" {
		return p.models[best], true
	}
	var pr Price
	found := false
	for key, kp := range p.models {
		if containsAtBoundary(key, name) {
			if found && !kp.same(pr) {
				return Price{}, false // an abbreviation of models with different prices
			}
			pr, found = kp, true
		}
	}
	return pr, found
}

// minorVersionAt reports whether every place name holds key at a boundary
// is followed by '-' and a segment of one or two digits: a newer minor
// version of key's model (claude-opus-4-9 for claude-opus-4), not a date
// (claude-opus-4-20250514) or a provider's suffix.
func minorVersionAt(name, key string) bool {
	for from := 0; ; {
		i := strings.Index(name[from:], key)
		if i < 0 {
			return true
		}
		i += from
		from = i + 1
		if (i > 0 && strings.IndexByte("-/:", name[i-1]) < 0) || (i+len(key) < len(name) && strings.IndexByte("-/:", name[i+len(key)]) < 0) {
			continue // not at a boundary
		}
		rest := name[i+len(key):]
		digits := 0
		if strings.HasPrefix(rest, "-") {
			for digits < 3 && 1+digits < len(rest) && '0' <= rest[1+digits] && rest[1+digits] <= '9' {
				digits++
			}
		}
		if end := 1 + digits; digits == 0 || digits > 2 || end < len(rest) && strings.IndexByte("-/:", rest[end]) < 0 {
			return false
		}
	}
}

// clone returns a copy of pr that shares no memory with it.
func (pr Price) clone() Price {
	if pr.LongContext != nil {
		long := *pr.LongContext
		pr.LongContext = &long
	}
	return pr
}

// same reports whether two prices are equal, long-context tiers included.
func (pr Price) same(o Price) bool {
	a, b := pr.LongContext, o.LongContext
	pr.LongContext, o.LongContext = nil, nil
	return pr == o && (a == b || a != nil && b != nil && *a == *b)
}

// Cost returns what a response of the model with the counts costs, in US
// dollars, with the long-context tier applied as rule says. A model the
// table does not know costs the fallback price, or is an error matching
// ErrUnknownModel.
func (p *Prices) Cost(model string, c Counts, rule TierRule) (float64, error) {
	p.mu.RLock()
	pr, ok := p.lookup(normalizeModel(model))
	fb := p.fallback
	p.mu.RUnlock()
	if !ok {
		if fb == nil {
			return 0, fmt.Errorf("%w %q (set one with Prices.Set, or a fallback with SetFallback)", ErrUnknownModel, model)
		}
		pr = *fb
	}
	return pr.Cost(c, rule), nil
}

// Cost returns what a response with the counts costs at this price.
func (pr Price) Cost(c Counts, rule TierRule) float64 {
	base := pr
	var cost float64
	switch long := pr.LongContext; {
	case long == nil || rule == NoTier:
		cost = base.flat(c)
	case rule == PerRequest:
		if c.Input+c.CacheWrite5m+c.CacheWrite1h+c.CacheRead > LongContextTokens {
			cost = long.flat(c)
		} else {
			cost = base.flat(c)
		}
	default: // PerKind
		tier := func(n int64, b, l float64) float64 {
			if n <= LongContextTokens {
				return float64(n) * b
			}
			return LongContextTokens*b + float64(n-LongContextTokens)*l
		}
		cost = (tier(c.Input, base.Input, long.Input) + tier(c.Output, base.Output, long.Output) +
			tier(c.CacheWrite5m, base.CacheWrite5m, long.CacheWrite5m) +
			tier(c.CacheWrite1h, base.CacheWrite1h, long.CacheWrite1h) +
			tier(c.CacheRead, base.CacheRead, long.CacheRead)) / 1e6
	}
	if c.Fast && pr.FastMultiplier > 0 {
		cost *= pr.FastMultiplier
	}
	return cost + float64(c.WebSearches)*WebSearchUSD
}

// flat is the cost of the counts at this price, without tiers.
func (pr Price) flat(c Counts) float64 {
	return (float64(c.Input)*pr.Input + float64(c.Output)*pr.Output + float64(c.CacheWrite5m)*pr.CacheWrite5m +
		float64(c.CacheWrite1h)*pr.CacheWrite1h + float64(c.CacheRead)*pr.CacheRead) / 1e6
}

// normalizeModel lowercases a model name and writes '.' and '@' as '-', as
// ccusage does before matching.
func normalizeModel(model string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', '@':
			return '-'
		}
		return r
	}, strings.ToLower(strings.TrimSpace(model)))
}

// containsAtBoundary reports whether s holds sub starting and ending at a
// boundary: the ends of s, or '-', '/', ':'.
func containsAtBoundary(s, sub string) bool {
	if sub == "" {
		return false
	}
	boundary := func(i int) bool { return i < 0 || i >= len(s) || strings.IndexByte("-/:", s[i]) >= 0 }
	for from := 0; ; {
		i := strings.Index(s[from:], sub)
		if i < 0 {
			return false
		}
		i += from
		if boundary(i-1) && boundary(i+len(sub)) {
			return true
		}
		from = i + 1
	}
}
