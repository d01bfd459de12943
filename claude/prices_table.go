package claude

import (
	"bytes"
	_ "embed" // the built-in price file
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"

	"github.com/authpool/authpool/internal/pricefile"
)

// Prices is a table of model prices. It is safe for concurrent use; Set and
// SetFallback may be called while others price, and it shares no memory
// with its callers.
//
// A model id finds its price in this order (docs/prices.md, "Matching"):
//
//  1. MatchExact: the table has the id itself, compared lowercased, without
//     a [...] suffix (Claude Code's [1m]), a provider path (anthropic/,
//     bedrock/, openrouter/anthropic/) or -fast. So LiteLLM's regional
//     Bedrock ids keep their own prices.
//  2. MatchModel: the table has the id's model: its family and version,
//     and its Bedrock region if it has one (else the model without it),
//     whatever the date, provider or version suffix (claude-opus-4-6,
//     claude-opus-4-6-20260205, claude-opus-4.6@20260205 and
//     anthropic.claude-opus-4-6-v1:0 are one model). A newer minor version
//     is another model: claude-opus-4-9 is not claude-opus-4.
//  3. MatchFamily (an estimate): an unknown model of a known family (opus,
//     sonnet, haiku, fable, mythos) is priced as the family's newest model
//     in the table.
//  4. MatchFallback (an estimate): any other model costs the fallback
//     price (SetFallback), or is an error matching ErrUnknownModel.
//
// A model id is resolved once: the table keeps the resolutions of the ids
// it has priced (up to a bound), so pricing a response parses nothing.
type Prices struct {
	mu      sync.RWMutex
	entries map[string]*priceEntry // by key, lowercased
	// index holds each model's preferred entry, by modelID.key(); newest
	// each family's newest model. Both are rebuilt when entries change.
	index    map[string]*priceEntry
	newest   map[string]*priceEntry
	fallback *Price
	// noFamily turns step 3 off (CcusagePrices).
	noFamily bool
	cache    map[string]resolved // by model id as given
}

// priceEntry is a model's price in a table. A table never changes an
// entry: Set puts in a new one, so entries may be shared between tables.
type priceEntry struct {
	key   string
	id    modelID
	price Price
}

// resolved is how a model id is priced: price is nil when it is not.
type resolved struct {
	price *Price
	res   Resolution
}

// maxResolutions bounds the resolutions a table keeps; past it, it forgets
// them all and starts again.
const maxResolutions = 4096

// Match says how a model id found its price.
type Match uint8

// How a model id can find its price, in the order they are tried.
const (
	// MatchExact: the table has the id.
	MatchExact Match = iota + 1
	// MatchModel: the table has the id's model.
	MatchModel
	// MatchFamily: an estimate, at the price of the family's newest model.
	MatchFamily
	// MatchFallback: an estimate, at the table's fallback price.
	MatchFallback
)

// String names the match.
func (m Match) String() string {
	switch m {
	case MatchExact:
		return "exact"
	case MatchModel:
		return "model"
	case MatchFamily:
		return "family"
	case MatchFallback:
		return "fallback"
	}
	return fmt.Sprintf("Match(%d)", uint8(m))
}

// Resolution says how a model id was priced.
type Resolution struct {
	// Key is the table entry whose price applies; "" for the fallback.
	Key string `json:"key,omitempty"`
	// Match says how the id found it.
	Match Match `json:"match"`
	// Fast reports that the id named fast mode (it ends in -fast), which
	// prices it as Counts.Fast does.
	Fast bool `json:"fast,omitempty"`
}

// Estimate reports whether the price is not the model's own: its
// family's newest model's, or the fallback.
func (r Resolution) Estimate() bool { return r.Match == MatchFamily || r.Match == MatchFallback }

// PricedAs is what an estimate was priced as, for authpool.Usage.PricedAs:
// the entry's key, or "fallback"; "" when the price is the model's own.
func (r Resolution) PricedAs() string {
	switch r.Match {
	case MatchFamily:
		return r.Key
	case MatchFallback:
		return "fallback"
	}
	return ""
}

// Quote is the cost of one response and how its model was priced.
type Quote struct {
	// CostUSD is the cost in US dollars.
	CostUSD float64 `json:"costUSD"`
	Resolution
}

//go:embed prices.json
var builtinPriceFile []byte

// builtinEntries are the built-in price file's entries, read once.
var builtinEntries = sync.OnceValue(func() []*priceEntry {
	entries, err := readPriceEntries(bytes.NewReader(builtinPriceFile))
	if err != nil {
		panic("claude: the built-in prices.json: " + err.Error()) // the tests read it
	}
	return entries
})

// DefaultPrices returns a new table of the built-in prices: every model
// Claude Code 2.1.332 knows, at the prices it charges (its
// total_cost_usd), with their fast-mode and geography ("us": 1.1)
// multipliers and long-prompt tiers; the older models ccusage knows; and
// the regional Bedrock ids LiteLLM lists, at its prices (10% above the
// global ones). It is prices.json in this package, in the shape of
// LiteLLM's model_prices_and_context_window.json; docs/prices.md lists it.
//
// Its fallback is the price of the dearest model that has no deprecation
// date (Claude Opus 4.1's, $15 and $75 per million input and output
// tokens), so that an unknown model errs on the side of spending too much
// rather than too little. Each call returns a table of its own.
func DefaultPrices() *Prices {
	p := newPrices(builtinEntries())
	p.fallback = p.dearest()
	return p
}

// ccusageUnknown are the built-in models ccusage 20.0.24 does not price
// (its LiteLLM snapshot lacks them): it reports them unpriced, at $0.
var ccusageUnknown = []string{
	"claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5",
	"claude-fable-5-1", "claude-fable-5-2", "claude-mythos-5-1", "claude-mythos-5-2",
}

// CcusagePrices returns a new table that prices as ccusage 20.0.24 does
// (offline): the built-in prices of the models it knows, and no estimate
// (no family match, no fallback), so that a model it does not know is
// unpriced, at $0. Give it to Read to reproduce ccusage's
// reports exactly.
func CcusagePrices() *Prices {
	var keep []*priceEntry
	for _, e := range builtinEntries() {
		known := true
		for _, u := range ccusageUnknown {
			known = known && e.key != u
		}
		if known {
			keep = append(keep, e)
		}
	}
	p := newPrices(keep)
	p.noFamily = true
	return p
}

// ReadPrices reads a price table from a price file in the shape of
// LiteLLM's model_prices_and_context_window.json (docs/prices.md): a JSON
// object keyed by model id, prices per token in US dollars. It reads the
// entries of Claude models (ids holding "claude"), and skips every other
// entry and field, so LiteLLM's whole file can be given. The table has no
// fallback: a model it cannot price is an error (SetFallback sets one).
//
// A problem in the file is an error naming the model and field as a JSON
// pointer, and the line: "line 12: /claude-opus-5-5/input_cost_per_token:
// -4e-06 is negative". Prices must be numbers from 0 to a dollar a token;
// multipliers above 0 and at most 1000. A failed read returns no table.
func ReadPrices(r io.Reader) (*Prices, error) {
	entries, err := readPriceEntries(r)
	if err != nil {
		return nil, fmt.Errorf("claude: read prices: %w", err)
	}
	return newPrices(entries), nil
}

// readPriceEntries reads a price file into entries.
func readPriceEntries(r io.Reader) ([]*priceEntry, error) {
	fileEntries, err := pricefile.Parse(r)
	if err != nil {
		return nil, err
	}
	entries := make([]*priceEntry, 0, len(fileEntries))
	for _, fe := range fileEntries {
		pr := Price{
			Input: perMillion(fe.Input), Output: perMillion(fe.Output), CacheWrite5m: perMillion(fe.CacheWrite5m),
			CacheWrite1h: perMillion(fe.CacheWrite1h), CacheRead: perMillion(fe.CacheRead),
			FastMultiplier: fe.Fast, Geo: fe.Geo, Deprecated: fe.Deprecation,
		}
		for _, t := range fe.Tiers {
			pr.Tiers = append(pr.Tiers, Tier{Above: t.Above, Input: perMillion(t.Input), Output: perMillion(t.Output),
				CacheWrite5m: perMillion(t.CacheWrite5m), CacheWrite1h: perMillion(t.CacheWrite1h), CacheRead: perMillion(t.CacheRead)})
		}
		if err := pr.check(); err != nil { // the file's bounds are ours: a mistake here is ours
			return nil, fmt.Errorf("line %d: /%s: %w", fe.Line, fe.Key, err)
		}
		entries = append(entries, newPriceEntry(fe.Key, pr))
	}
	return entries, nil
}

// perMillion converts a price per token to a price per million tokens,
// rounded to a billionth of a dollar (4e-06 is 4, not 3.9999999999999996).
func perMillion(perToken float64) float64 {
	return math.Round(perToken*1e15) / 1e9
}

// newPriceEntry makes an entry of a checked price the caller gives up.
func newPriceEntry(key string, pr Price) *priceEntry {
	key = strings.ToLower(strings.TrimSpace(key))
	return &priceEntry{key: key, id: parseModel(key), price: pr}
}

// newPrices makes a table of entries, which it shares: entries are never
// changed.
func newPrices(entries []*priceEntry) *Prices {
	p := &Prices{entries: make(map[string]*priceEntry, len(entries))}
	for _, e := range entries {
		p.entries[e.key] = e
	}
	p.reindex()
	return p
}

// indexed reports whether an entry stands for its model in the index: a
// key with a provider path (azure_ai/claude-opus-4-6) is that provider's
// price, matched only exactly.
func (e *priceEntry) indexed() bool { return !strings.ContainsRune(e.key, '/') }

// reindex rebuilds the index and the newest models, and forgets the
// resolutions; p.mu is held (or p is not shared yet).
func (p *Prices) reindex() {
	p.index = make(map[string]*priceEntry, len(p.entries))
	p.newest = make(map[string]*priceEntry)
	p.cache = nil
	for _, e := range p.entries {
		if !e.indexed() {
			continue
		}
		k := e.id.key()
		// Of several keys of one model (LiteLLM lists claude-sonnet-4-5 and
		// claude-sonnet-4-5-20250929), the shortest, then the first in
		// order, stands for it: the same whatever the map's order.
		if o := p.index[k]; o == nil || len(e.key) < len(o.key) || len(e.key) == len(o.key) && e.key < o.key {
			p.index[k] = e
		}
	}
	for _, e := range p.index {
		id := e.id
		if id.family == "" || id.region != "" || id.major < 0 || id.extra != "" || id.fast {
			continue
		}
		o := p.newest[id.family]
		if o == nil || id.major > o.id.major || id.major == o.id.major && id.minor > o.id.minor {
			p.newest[id.family] = e
		}
	}
}

// dearest returns a copy of the price of the dearest model with no
// deprecation date (by input price, then output price, then key), or nil
// for an empty table.
func (p *Prices) dearest() *Price {
	var best *priceEntry
	for _, e := range p.entries {
		if !e.indexed() || e.id.region != "" || !e.price.Deprecated.IsZero() {
			continue
		}
		if b := best; b == nil || e.price.Input > b.price.Input ||
			e.price.Input == b.price.Input && (e.price.Output > b.price.Output || e.price.Output == b.price.Output && e.key < b.key) {
			best = e
		}
	}
	if best == nil {
		return nil
	}
	pr := best.price.clone()
	return &pr
}

// overlay puts entries in the table: each replaces the entry of the same
// key and, when it stands for its model, the entries of its model that
// are not among those given (so that claude-sonnet-4-5-20250929 replaces
// claude-sonnet-4-5). p.mu is held (or p is not shared yet).
func (p *Prices) overlay(entries []*priceEntry) {
	if p.entries == nil {
		p.entries = make(map[string]*priceEntry)
	}
	models := make(map[string]bool)
	keys := make(map[string]bool)
	for _, e := range entries {
		keys[e.key] = true
		if e.indexed() {
			models[e.id.key()] = true
		}
	}
	for k, e := range p.entries {
		if keys[k] || e.indexed() && models[e.id.key()] {
			delete(p.entries, k)
		}
	}
	for _, e := range entries {
		p.entries[e.key] = e
	}
	p.reindex()
}

// Set adds a model's price, in place of the entry of the same name and of
// the entries of the same model (Set("claude-sonnet-4-5-20250929", ...)
// prices every Claude Sonnet 4.5 id; Bedrock's regional ids, which are
// models of their own, keep theirs).
func (p *Prices) Set(model string, price Price) error {
	if err := price.check(); err != nil {
		return fmt.Errorf("claude: price of %q: %w", model, err)
	}
	if strings.TrimSpace(model) == "" {
		return errors.New("claude: a price needs a model name")
	}
	e := newPriceEntry(model, price.clone())
	p.mu.Lock()
	defer p.mu.Unlock()
	p.overlay([]*priceEntry{e})
	return nil
}

// SetFallback sets the price of models the table cannot price otherwise;
// nil makes them an error again.
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
	p.cache = nil
	return nil
}

// Fallback returns the fallback price, and whether the table has one.
func (p *Prices) Fallback() (Price, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.fallback == nil {
		return Price{}, false
	}
	return p.fallback.clone(), true
}
